import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonlLedger, readLedgers, type UsageLedger } from '../../src/ledger/index.js';
import { rotatedFiles, rotatedName } from '../../src/ledger/jsonl-files.js';
import { usageRecord } from '../helpers/usage-records.js';

// A report run while a writer rotates, compresses and prunes the ledger it reads. Each test
// changes the ledger from inside the reader's visitor (after the inputs were listed, while a
// file is being read: the points where a concurrent writer's rename lands), then compares the
// records counted with the records written.
const T0 = Date.UTC(2026, 10, 20, 10);
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-race-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A writer (the real JSON Lines ledger, rotating at ~4 KB: ~12 records a file) and what it wrote. */
function writer(name: string): { path: string; ledger: UsageLedger; write(n: number): void; written(): number } {
  const path = join(dir, name, 'usage.jsonl');
  const ledger = jsonlLedger({ path, maxBytes: 4_000, flushIntervalMs: 3_600_000 });
  let i = 0;
  return {
    path,
    ledger,
    // One flush per record: a rotation happens exactly when a file is full, as in a busy process.
    write(n) {
      for (let k = 0; k < n; k++, i++) {
        ledger.write(usageRecord({ startedAt: T0 + i, requestId: `r-${i}`, costUsd: 0.001 }));
        void ledger.flush();
      }
    },
    written: () => i,
  };
}

/** Compresses a rotated file as the writer's compression does (the .gz renamed into place, then the original removed). */
function compress(file: string): void {
  writeFileSync(`${file}.gz.tmp`, gzipSync(readFileSync(file)));
  renameSync(`${file}.gz.tmp`, `${file}.gz`);
  unlinkSync(file);
}

/** Reads the ledger, running `during(n)` as the n-th record is handed over; returns the request ids read. */
async function readDuring(path: string, during: (n: number, id: string) => void) {
  const ids: string[] = [];
  const summary = await readLedgers([path], {
    record: (r) => {
      ids.push(r.requestId ?? '');
      during(ids.length, r.requestId ?? '');
    },
  });
  return { ids, summary };
}

const all = (n: number): string[] => Array.from({ length: n }, (_, i) => `r-${i}`);
const sorted = (ids: string[]): string[] => [...ids].sort((a, b) => Number(a.slice(2)) - Number(b.slice(2)));

describe('a report reading a JSON Lines ledger while a writer rotates it', () => {
  it('a listed rotated file compressed before it is read is read under its .gz name; the active file rotated meanwhile is found again', async () => {
    const w = writer('compressed-after-listing');
    w.write(60);
    const listed = rotatedFiles(w.path).map((f) => f.file);
    expect(listed.length).toBeGreaterThan(3);
    const { ids, summary } = await readDuring(w.path, (n) => {
      if (n !== 1) return;
      // While the first rotated file is read: the others are compressed, and the writer goes on
      // (25 more records: the active file is renamed by a rotation, and the next one too).
      for (const f of listed.slice(1)) compress(f);
      w.write(25);
    });
    // Written 85, counted 85, each once. Before: the read failed (ENOENT on the compressed files' old names).
    expect(w.written()).toBe(85);
    expect(sorted(ids)).toEqual(all(85));
    expect(summary).toMatchObject({ partial: false, problems: [] });
    await w.ledger.close();
  });

  it('the active file renamed by a rotation between the listing and its opening is not missed', async () => {
    const w = writer('rotated-before-open');
    w.write(30);
    const before = rotatedFiles(w.path).length;
    const lastRotated = readFileSync(rotatedFiles(w.path).at(-1)?.file ?? '', 'utf8');
    const lastId = /"requestId":"(r-\d+)"[^\n]*\n$/.exec(lastRotated)?.[1];
    const { ids } = await readDuring(w.path, (_, id) => {
      // The last listed rotated file is being read: the active file fills and is renamed now, before the reader opens it.
      if (id === lastId) w.write(12);
    });
    expect(rotatedFiles(w.path).length).toBeGreaterThan(before);
    // Written 42, counted 42. Before: 33 (the renamed file, its 9 records from r-30 on, was missed).
    expect(sorted(ids)).toEqual(all(42));
    await w.ledger.close();
  });

  it('the active file renamed and compressed while it is being read is counted once, and what the writer wrote after is counted too', async () => {
    const w = writer('rotated-while-read');
    w.write(30);
    const inActive = readFileSync(w.path, 'utf8').split('\n').filter((l) => l.length > 0).length;
    expect(inActive).toBeGreaterThan(2);
    let done = false;
    const { ids, summary } = await readDuring(w.path, (n) => {
      // The reader is inside the active file (its records come last): a rotation renames it, a
      // late writer appends one more record to it under its new name, the compression replaces it
      // by its .gz, and the writer fills a new active file.
      if (done || n !== 30 - inActive + 1) return;
      done = true;
      const renamed = rotatedName(w.path, T0 + 86_400_000, 99, 1);
      renameSync(w.path, renamed);
      // A record of its own (another id: the copied line's id would make it the same record read twice).
      writeFileSync(renamed, `${JSON.stringify({ ...JSON.parse(readFileSync(renamed, 'utf8').split('\n')[0] ?? '{}'), id: 'lateLateLate.0', requestId: 'late', startedAt: new Date(T0).toISOString() })}\n`, { flag: 'a' });
      compress(renamed);
      w.write(5);
    });
    // Written 30 + 1 late + 5 = 36, counted 36, each once. Before: 30 (the late record and the new active file's 5 were missed).
    expect(ids).toHaveLength(36);
    expect(new Set(ids)).toEqual(new Set([...all(35), 'late']));
    expect(summary.partial).toBe(false);
    expect(readdirSync(join(dir, 'rotated-while-read')).some((f) => f.endsWith('.99.1.jsonl.gz'))).toBe(true);
    await w.ledger.close();
  });

  it('a rotated file listed both as itself and as its .gz (a compression between its rename and its removal) is counted once', async () => {
    const w = writer('both-names');
    w.write(40);
    const [first] = rotatedFiles(w.path);
    writeFileSync(`${first?.file ?? ''}.gz`, gzipSync(readFileSync(first?.file ?? '')));
    const { ids } = await readDuring(w.path, () => undefined);
    // Written 40, counted 40. Before: 49 (the first file's 9 records twice).
    expect(sorted(ids)).toEqual(all(40));
    await w.ledger.close();
  });

  it('a rotated file a retention deletes before it is read is noted as deleted, not as a loss', async () => {
    const w = writer('pruned');
    w.write(40);
    const files = rotatedFiles(w.path).map((f) => f.file);
    const gone = readFileSync(files[1] ?? '', 'utf8').split('\n').filter((l) => l.length > 0).length;
    const { ids, summary } = await readDuring(w.path, (n) => {
      if (n === 1) unlinkSync(files[1] ?? '');
    });
    // Written 40, deleted `gone` by the retention, counted the other 40 - gone. Before: the read failed (ENOENT).
    expect(ids).toHaveLength(40 - gone);
    expect(summary.partial).toBe(false);
    expect(summary.problems).toEqual([expect.objectContaining({ file: files[1], vanished: true })]);
    await w.ledger.close();
  });
});
