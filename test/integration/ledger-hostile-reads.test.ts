import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerInputError, readLedgers } from '../../src/ledger/index.js';
import { storedLine, usageRecord, writeJsonl } from '../helpers/usage-records.js';

// A report run against a ledger an operator's tools change under it, or reached through paths that
// lead to one file twice. Each record is counted once or the report fails naming the path.
const T0 = Date.UTC(2026, 10, 20, 10);
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-hostile-reads-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const records = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => usageRecord({ startedAt: T0 + from + i, requestId: `r-${from + i}` }));
const all = (n: number): string[] => Array.from({ length: n }, (_, i) => `r-${i}`);
const sorted = (ids: string[]): string[] => [...ids].sort((a, b) => Number(a.slice(2)) - Number(b.slice(2)));

async function read(paths: string[], during: (n: number) => void = () => undefined) {
  const ids: string[] = [];
  const summary = await readLedgers(paths, {
    record: (r) => {
      ids.push(r.requestId ?? '');
      during(ids.length);
    },
  });
  return { ids, summary };
}

describe('a JSON Lines ledger truncated while the report reads it', () => {
  it("logrotate's copytruncate (copy to usage.jsonl.1, truncate, the app appends on): each record is counted once, the one appended after is not missed", async () => {
    const d = join(dir, 'copytruncate');
    mkdirSync(d);
    const path = join(d, 'usage.jsonl');
    writeJsonl(path, records(0, 10));
    const { ids, summary } = await read([path], (n) => {
      if (n !== 5) return;
      copyFileSync(path, `${path}.1`);
      truncateSync(path, 0);
      appendFileSync(path, `${storedLine(records(10, 11)[0]!)}\n`);
    });
    // Before: 20 records (r-0 … r-9 from the active file, then again from its copy) and r-10 missed.
    expect(sorted(ids)).toEqual(all(11));
    // Named, not a loss: the active file was truncated while read; its copy was read on from where the active file's read ended.
    expect(summary.partial).toBe(false);
    expect(summary.problems).toEqual([{ file: path, records: 11, torn: 0, tornBytes: 0, mistyped: 0, truncatedWhileRead: true }]);
  });

  it('a plain truncation (`: > usage.jsonl`) while read: what was read counts, what was appended after is read from the start', async () => {
    const d = join(dir, 'truncate');
    mkdirSync(d);
    const path = join(d, 'usage.jsonl');
    writeJsonl(path, records(0, 10));
    const { ids, summary } = await read([path], (n) => {
      if (n !== 5) return;
      truncateSync(path, 0);
      appendFileSync(path, `${storedLine(records(10, 11)[0]!)}\n`);
    });
    // Before: r-10 missed (the read went on from the old end, past the new one).
    expect(sorted(ids)).toEqual(all(11));
    expect(summary.problems).toEqual([{ file: path, records: 11, torn: 0, tornBytes: 0, mistyped: 0, truncatedWhileRead: true }]);
    expect(summary.partial).toBe(false);
  });
});

describe('a JSON Lines ledger caught mid-rotation', () => {
  it('the active file renamed by a rotation and not yet written again: its rotated files are read, the path is not refused as missing', async () => {
    // Seen as a flaky "no such file" in test/e2e/ledger-report-race.test.ts under load: a report
    // (a cron job) that starts between a writer's rename and its next append exited 1.
    const d = join(dir, 'mid-rotation');
    mkdirSync(d);
    writeJsonl(join(d, 'usage.20261120T100000Z.7.1.jsonl'), records(0, 4));
    const { ids, summary } = await read([join(d, 'usage.jsonl')]);
    expect(sorted(ids)).toEqual(all(4));
    expect(summary).toMatchObject({ partial: false, problems: [] });
    // A typo still fails, naming the path (it has no rotated files).
    await expect(read([join(d, 'usgae.jsonl')])).rejects.toThrow(`${join(d, 'usgae.jsonl')}: no such file`);
  });
});

describe('paths that lead to one file twice', () => {
  it('a glob through a symbolic link to an ancestor directory counts each file once', async () => {
    const d = join(dir, 'links');
    mkdirSync(join(d, 'real'), { recursive: true });
    writeJsonl(join(d, 'real', 'usage.jsonl'), records(0, 3));
    writeJsonl(join(d, 'real', 'usage.20261120T100000Z.7.1.jsonl'), records(3, 5));
    symlinkSync('..', join(d, 'real', 'up'));
    symlinkSync('.', join(d, 'self'));
    // Before: 3 × 5 records (real/, real/up/real/, self/real/ …: one file under several names).
    const { ids, summary } = await read([join(d, '**/*.jsonl')]);
    expect(sorted(ids)).toEqual(all(5));
    expect(summary.files).toHaveLength(2);
    const twice = await read([join(d, 'real', 'usage.jsonl'), join(d, 'self', 'real', 'up', 'real', 'usage.jsonl')]);
    expect(sorted(twice.ids)).toEqual(all(5));
  });

  it('a symbolic link loop is named as one, not as a missing file', async () => {
    symlinkSync('loop', join(dir, 'loop'));
    const err = await read([join(dir, 'loop', 'usage.jsonl')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerInputError);
    expect((err as Error).message).toBe(`${join(dir, 'loop', 'usage.jsonl')}: a symbolic link loop (ELOOP)`);
  });
});
