import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { csvLine } from '../render-csv.js';
import { ALL_COLUMNS } from './columns.js';
import type { FocusValues } from './focus-builder.js';

/** Writes FOCUS rows as CSV (RFC 4180, header row, empty field for null) to a stream, in ~1 MB writes, honouring backpressure. */
export async function writeFocusCsv(rows: Iterable<FocusValues>, out: Writable): Promise<number> {
  const write = (s: string): Promise<void> | undefined => (out.write(s) ? undefined : new Promise((resolve) => out.once('drain', resolve)));
  let chunk = csvLine(ALL_COLUMNS.map(([c]) => c));
  let n = 0;
  for (const row of rows) {
    chunk += csvLine(row);
    n++;
    if (chunk.length >= 1 << 20) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(chunk);
  return n;
}

/** Writes FOCUS rows as CSV to a file. */
export async function writeFocusCsvFile(rows: Iterable<FocusValues>, file: string): Promise<number> {
  const out = createWriteStream(file);
  // Listened to from the start: a write that fails (a full disk) while the rows wait for 'drain'
  // was an unhandled 'error' event that ended the process, the drain never coming.
  const failed = new Promise<never>((_, reject) => out.once('error', reject));
  failed.catch(() => undefined);
  const n = await Promise.race([writeFocusCsv(rows, out), failed]);
  await Promise.race([new Promise<void>((resolve) => out.end(resolve)), failed]);
  return n;
}

interface ParquetColumn {
  name: string;
  data: (string | number | Date | object | null)[];
  type: 'STRING' | 'DOUBLE' | 'TIMESTAMP' | 'JSON';
}

/**
 * Writes FOCUS rows as Parquet through `hyparquet-writer` (an optional dependency: pure
 * JavaScript, MIT; `npm install hyparquet-writer`). Decimals are DOUBLE columns (Parquet
 * readers and FOCUS tools sum them as floating point; the CSV keeps the exact decimals),
 * datetimes TIMESTAMP (UTC), Tags and SkuPriceDetails JSON. Rows are held in memory as columns:
 * the export is hourly aggregates, not calls.
 */
export async function writeFocusParquetFile(rows: Iterable<FocusValues>, file: string): Promise<number> {
  let writer: { parquetWriteFile(o: { filename: string; columnData: ParquetColumn[] }): unknown };
  try {
    writer = await import('hyparquet-writer');
  } catch {
    throw new Error('Parquet output needs the hyparquet-writer package: npm install hyparquet-writer');
  }
  const columns: ParquetColumn[] = ALL_COLUMNS.map(([name, type]) => ({ name, data: [], type: type === 'decimal' ? 'DOUBLE' : type === 'datetime' ? 'TIMESTAMP' : type === 'json' ? 'JSON' : 'STRING' }));
  let n = 0;
  for (const row of rows) {
    ALL_COLUMNS.forEach(([, type], i) => {
      const v = row[i] ?? null;
      columns[i]?.data.push(v === null ? null : type === 'decimal' ? Number(v) : type === 'datetime' ? new Date(v) : type === 'json' ? (JSON.parse(v) as object) : v);
    });
    n++;
  }
  await writer.parquetWriteFile({ filename: file, columnData: columns });
  return n;
}
