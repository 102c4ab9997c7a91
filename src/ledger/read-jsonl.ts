import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { parseHeader } from './header.js';
import { parseRecord } from './parse-record.js';
import { emptyCounts, visitRecord, type LedgerVisitor, type ReadCounts, type TimeWindow } from './read-types.js';

function visitLine(line: string, window: TimeWindow, visitor: LedgerVisitor, counts: ReadCounts): void {
  if (line.length === 0 || line.trim() === '') return;
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    counts.torn++;
    return;
  }
  const header = parseHeader(o);
  if (header !== undefined) {
    counts.headers++;
    visitor.header?.(header);
    return;
  }
  const r = parseRecord(o);
  if (r === 'mistyped') counts.mistyped++;
  else visitRecord(r, window, visitor, counts);
}

/**
 * Streams one JSON Lines file (gzipped when its name ends in `.gz`) line by line: memory is one
 * read chunk plus one line, whatever the file's size.
 */
export async function readJsonlFile(file: string, window: TimeWindow, visitor: LedgerVisitor): Promise<ReadCounts> {
  const counts = emptyCounts();
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  const stream = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  raw.on('error', (e) => stream.destroy(e));
  stream.setEncoding('utf8');
  let rest = '';
  for await (const chunk of stream as AsyncIterable<string>) {
    let start = 0;
    let nl = chunk.indexOf('\n');
    if (nl === -1) {
      rest += chunk;
      continue;
    }
    visitLine(rest + chunk.slice(0, nl), window, visitor, counts);
    rest = '';
    start = nl + 1;
    while ((nl = chunk.indexOf('\n', start)) !== -1) {
      visitLine(chunk.slice(start, nl), window, visitor, counts);
      start = nl + 1;
    }
    rest = chunk.slice(start);
  }
  visitLine(rest, window, visitor, counts);
  return counts;
}
