import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerInputError, readLedgers } from '../../src/ledger/index.js';
import { MAX_LINE_BYTES } from '../../src/ledger/read-jsonl.js';
import { storedLine, usageRecord } from '../helpers/usage-records.js';

// A damaged rotated file (a disk that filled while it was compressed, a partial copy, a bad
// sector) or a damaged line must not make every other file's spend unreadable, nor vanish from
// the totals unsaid: the reader counts every complete record it can read and names what it lost.
const T0 = Date.UTC(2026, 10, 20, 10);
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-damaged-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lines = (from: number, to: number): string => {
  let s = '';
  for (let i = from; i < to; i++) s += `${storedLine(usageRecord({ startedAt: T0 + i, requestId: `r-${i}`, costUsd: 0.001, inputTokens: (i * 7919) % 1013 }))}\n`;
  return s;
};

async function read(...paths: string[]) {
  const ids: string[] = [];
  const summary = await readLedgers(paths, { record: (r) => ids.push(r.requestId ?? '') });
  return { ids, summary };
}

const DAMAGED = 'usage.20261120T100001Z.7.2.jsonl.gz';

/** `usage.jsonl` (records 100000-100099) and two rotated, compressed files (0-1999, then `n` from 2000); `damage` spoils the second. */
function fleet(name: string, damage: (gz: Buffer) => Buffer, n = 2000): string {
  const d = join(dir, name);
  mkdirSync(d);
  writeFileSync(join(d, 'usage.20261120T100000Z.7.1.jsonl.gz'), gzipSync(lines(0, 2000)));
  writeFileSync(join(d, DAMAGED), damage(gzipSync(lines(2000, 2000 + n))));
  writeFileSync(join(d, 'usage.jsonl'), lines(100_000, 100_100));
  return join(d, 'usage.jsonl');
}

describe('readLedgers over a damaged compressed file', () => {
  it('a truncated .jsonl.gz: every other file is counted, the damaged one up to the damage, and the damage is named', async () => {
    const path = fleet('truncated', (gz) => gz.subarray(0, Math.floor(gz.length / 2)));
    // Before: the whole read failed (LedgerInputError: unexpected end of file), so no file's spend could be read.
    const { ids, summary } = await read(path);
    const fromDamaged = ids.filter((id) => Number(id.slice(2)) >= 2000 && Number(id.slice(2)) < 100_000);
    expect(ids.length).toBe(2100 + fromDamaged.length);
    expect(new Set(ids).size).toBe(ids.length);
    // What was read of the damaged file is a gap-free prefix of it: complete records, in order.
    expect(fromDamaged.length).toBeGreaterThan(0);
    expect(fromDamaged.length).toBeLessThan(2000);
    expect(fromDamaged).toEqual(Array.from({ length: fromDamaged.length }, (_, i) => `r-${2000 + i}`));
    expect(summary.partial).toBe(true);
    expect(summary.problems).toHaveLength(1);
    expect(summary.problems[0]).toMatchObject({ file: join(dir, 'truncated', DAMAGED), records: fromDamaged.length, torn: 0, tornBytes: 0, mistyped: 0, unreadBytes: 0 });
    expect(summary.problems[0]?.damage).toContain('unexpected end of file');
  });

  it('a corrupt .jsonl.gz (bytes overwritten in the middle): the intact files are counted whole, the corrupt one is named', async () => {
    const path = fleet('corrupt', (gz) => {
      const bad = Buffer.from(gz);
      bad.fill(0xa5, Math.floor(bad.length / 4), Math.floor(bad.length / 4) + 64);
      return bad;
    }, 20_000);
    const { ids, summary } = await read(path);
    // The intact files are counted whole (what the corrupt stream decoded into before the damage may hold anything).
    const seen = new Set(ids);
    for (const i of [...Array.from({ length: 2000 }, (_, k) => k), ...Array.from({ length: 100 }, (_, k) => 100_000 + k)]) expect(seen.has(`r-${i}`)).toBe(true);
    expect(ids.length).toBeLessThan(2100 + 20_000);
    expect(summary.partial).toBe(true);
    const [p] = summary.problems;
    expect(p?.file).toBe(join(dir, 'corrupt', DAMAGED));
    expect(p?.damage).toBeDefined();
    expect(p?.size).toBeGreaterThan(0);
    expect(p?.unreadBytes).toBeLessThan(p?.size ?? 0);
    // What the damaged stream decoded into is garbage lines: counted as torn, not as records.
    expect(p?.records).toBeLessThan(20_000);
  });

  it('a file named .gz that is no gzip at all, given alone, is an input error that says it is damaged', async () => {
    const path = join(dir, 'not-gzip.jsonl.gz');
    writeFileSync(path, lines(0, 10));
    await expect(read(path)).rejects.toThrow(LedgerInputError);
    await expect(read(path)).rejects.toThrow(/not-gzip\.jsonl\.gz: no usage records \(damaged: .*not-gzip\.jsonl\.gz: incorrect header check/);
  });

  it('an intact fleet has no problems and is not partial', async () => {
    const { ids, summary } = await read(fleet('intact', (gz) => gz));
    expect(ids).toHaveLength(4100);
    expect(summary).toMatchObject({ problems: [], partial: false });
  });
});

describe('readLedgers over damaged lines of a plain file', () => {
  it('names the file with its torn and mistyped lines (and their bytes), and marks the read partial', async () => {
    const path = join(dir, 'torn.jsonl');
    const mistyped = JSON.stringify({ ...JSON.parse(storedLine(usageRecord({ startedAt: T0 }))), inputTokens: 1e300 });
    writeFileSync(path, `${lines(0, 3)}{"operation":"Conv\n${mistyped}\n${lines(3, 5)}`);
    const { ids, summary } = await read(path);
    expect(ids).toHaveLength(5);
    // Before: only totals (torn 1, mistyped 1), no file named and nothing said the totals undercount.
    expect(summary.problems).toEqual([{ file: path, records: 5, torn: 1, tornBytes: '{"operation":"Conv'.length, mistyped: 1 }]);
    expect(summary.partial).toBe(true);
  });

  it('an unterminated last line is torn, in a rotated file and in the active file alike (read again first: a write may have been in progress)', async () => {
    const d = join(dir, 'tails');
    mkdirSync(d);
    const rotated = join(d, 'usage.20261120T100000Z.7.1.jsonl');
    writeFileSync(rotated, `${lines(0, 2)}{"operation":`);
    writeFileSync(join(d, 'usage.jsonl'), `${lines(2, 4)}{"operation":"Con`);
    const { ids, summary } = await read(join(d, 'usage.jsonl'));
    expect(ids).toEqual(['r-0', 'r-1', 'r-2', 'r-3']);
    expect(summary.problems).toEqual([
      { file: rotated, records: 2, torn: 1, tornBytes: '{"operation":'.length, mistyped: 0 },
      { file: join(d, 'usage.jsonl'), records: 2, torn: 1, tornBytes: '{"operation":"Con'.length, mistyped: 0 },
    ]);
    expect(summary.partial).toBe(true);
  });

  it('a line longer than any record (a crash left a run of NUL bytes past the longest string) is one torn line, and the records around it count', async () => {
    // A sparse file: 540 MB of NUL bytes between two records, no disk used. Before: the reader
    // built the whole line as one string, past V8's longest string, and the read failed.
    const path = join(dir, 'nul-run.jsonl');
    writeFileSync(path, lines(0, 1));
    const hole = 540 * 2 ** 20;
    truncateSync(path, lines(0, 1).length + hole);
    const fd = openSync(path, 'a');
    writeSync(fd, `\n${lines(1, 2)}`);
    closeSync(fd);
    expect(hole).toBeGreaterThan(MAX_LINE_BYTES);
    const { ids, summary } = await read(path);
    expect(ids).toEqual(['r-0', 'r-1']);
    expect(summary.problems).toEqual([{ file: path, records: 2, torn: 1, tornBytes: hole, mistyped: 0 }]);
  }, 60_000);
});
