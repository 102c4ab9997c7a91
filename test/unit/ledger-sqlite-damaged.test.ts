import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerInputError, readLedgers } from '../../src/ledger/index.js';
import { garbledCopy, truncatedCopy, writeSqliteLedger } from '../helpers/sqlite-files.js';
import { writeJsonl, usageRecord } from '../helpers/usage-records.js';

// A damaged SQLite ledger in a fleet (a partial copy, a bad sector, a file that is no database, a
// database of another tool, one locked by another connection) must not hide every other file's
// spend, nor vanish from the totals unsaid: what SQLite can still reach is read, the rest is named.
// Before: the first error of any SQLite file failed the whole read (LedgerInputError, exit 1).
const T0 = Date.UTC(2026, 10, 20, 10);
const N = 20_000;
let dir = '';
let good = '';
let jsonl = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-sqlite-damaged-'));
  good = join(dir, 'good.db');
  writeSqliteLedger(good, 0, N, T0);
  jsonl = join(dir, 'fleet.jsonl');
  writeJsonl(jsonl, Array.from({ length: 100 }, (_, i) => usageRecord({ startedAt: T0 + i, requestId: `j-${i}`, costUsd: 0.001 })));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function read(...paths: string[]) {
  const ids: string[] = [];
  const costs = new Set<number | undefined>();
  const summary = await readLedgers(paths, {
    record: (r) => {
      ids.push(r.requestId ?? '');
      costs.add(r.costUsd);
    },
  });
  return { ids, costs, summary };
}
const fromDb = (ids: string[]): number[] => ids.filter((id) => id.startsWith('r-')).map((id) => Number(id.slice(2)));

describe('readLedgers over a damaged SQLite ledger beside intact ones', () => {
  it('garbage over two pages in the middle: the rows before and after the damage are read, the unreadable rowids are named', async () => {
    const bad = join(dir, 'garbled.db');
    garbledCopy(good, bad, Math.floor(statSync(good).size / 2), 8192);
    const { ids, summary } = await read(jsonl, bad);
    // Read: the 100 JSON Lines records, and every row of the database outside the damaged pages, each once.
    expect(ids.filter((id) => id.startsWith('j-'))).toHaveLength(100);
    const rows = fromDb(ids);
    expect(new Set(rows).size).toBe(rows.length);
    const missing = Array.from({ length: N }, (_, i) => i).filter((i) => !rows.includes(i));
    // Skipped: one contiguous run of rows (the two damaged pages hold ~40), not the second half of the file.
    expect(missing.length).toBeGreaterThan(0);
    expect(missing.length).toBeLessThan(200);
    expect(missing.at(-1)! - missing[0]! + 1).toBe(missing.length);
    expect(rows.filter((i) => i > missing.at(-1)!).length).toBeGreaterThan(9_000);
    // Named: the file, the rows read from it, the damage and which rowids it made unreadable.
    expect(summary.partial).toBe(true);
    expect(summary.problems).toHaveLength(1);
    const [p] = summary.problems;
    expect(p).toMatchObject({ file: bad, records: rows.length, torn: 0, mistyped: 0 });
    expect(p?.damage).toMatch(/database disk image is malformed \(SQLITE_CORRUPT\)/);
    expect(p?.damage).toContain(`rowids ${missing[0]! + 1}–${missing.at(-1)! + 1} could not be read`);
  });

  it('a copy cut short (90% of its bytes): the rows SQLite still reaches are read, and the file is named truncated', async () => {
    const bad = join(dir, 'truncated.db');
    truncatedCopy(good, bad, 0.9);
    const { ids, costs, summary } = await read(jsonl, bad);
    const rows = fromDb(ids);
    // Read: every row SQLite reaches, each once, none with a value the cut zeroed (before the page the
    // cut went through was known, one read back with a cost of $0.00099992… and a request id of NUL bytes).
    const last = Math.max(...rows);
    expect(rows.length).toBeGreaterThan(10_000);
    expect(new Set(rows).size).toBe(rows.length);
    expect(rows).toEqual(Array.from({ length: last + 1 }, (_, i) => i).filter((i) => rows.includes(i)));
    expect(ids.filter((id) => id.startsWith('r-')).every((id) => /^r-\d+$/.test(id))).toBe(true);
    expect([...costs]).toEqual([0.001]);
    // Skipped and named: the rows on the page the cut went through, and every row past the last one reached.
    const cut = last + 1 - rows.length;
    expect(cut).toBeGreaterThan(0);
    expect(summary.problems).toHaveLength(1);
    expect(summary.problems[0]).toMatchObject({ file: bad, records: rows.length });
    expect(summary.problems[0]?.damage).toContain(`the file is ${statSync(bad).size} bytes where its header says ${statSync(good).size} (truncated)`);
    expect(summary.problems[0]?.damage).toContain(`rows after rowid ${last + 1} could not be read`);
    expect(summary.problems[0]?.damage).toContain(`${cut} rows on damaged pages not counted`);
    expect(summary.partial).toBe(true);
  });

  it('a file named .sqlite that is no database, and a database without a usage table: the others are read, each is named', async () => {
    const text = join(dir, 'notes.sqlite');
    writeFileSync(text, 'not a database\n'.repeat(400));
    const other = join(dir, 'other-tool.db');
    const db = new Database(other);
    db.exec('CREATE TABLE things (x)');
    db.close();
    const { ids, summary } = await read(jsonl, text, other, good);
    // Read: all 100 + 20,000 records of the intact ledgers; skipped: the two files, whole.
    expect(ids).toHaveLength(100 + N);
    expect(summary.partial).toBe(true);
    expect(summary.problems).toEqual([
      { file: text, records: 0, torn: 0, tornBytes: 0, mistyped: 0, damage: 'file is not a database (SQLITE_NOTADB); nothing read' },
      { file: other, records: 0, torn: 0, tornBytes: 0, mistyped: 0, damage: 'not a bedrock-finops ledger (no usage table); nothing read' },
    ]);
    // The intact database alone: read whole, no problem.
    expect(await read(good)).toMatchObject({ ids: { length: N }, summary: { partial: false, problems: [] } });
  });

  it('the damaged file given alone is still an input error (exit 1) that names its damage; a typo is still "no such file"', async () => {
    const text = join(dir, 'alone.db');
    writeFileSync(text, 'garbage');
    await expect(read(text)).rejects.toThrow(LedgerInputError);
    await expect(read(text)).rejects.toThrow(`${text}: no usage records (damaged: ${text}: file is not a database (SQLITE_NOTADB); nothing read)`);
    await expect(read(join(dir, 'godo.db'))).rejects.toThrow(`${join(dir, 'godo.db')}: no such file`);
  });

  it('a database another connection holds an exclusive lock on: named as locked after the busy timeout, the others read', async () => {
    const locked = join(dir, 'locked', 'usage.db');
    mkdirSync(join(dir, 'locked'));
    writeSqliteLedger(locked, 0, 10, T0, 'delete');
    const holder = new Database(locked);
    holder.exec('BEGIN EXCLUSIVE');
    try {
      const { ids, summary } = await read(jsonl, locked);
      // Read: the JSON Lines file; skipped: the locked database, whole.
      expect(ids).toHaveLength(100);
      expect(summary.problems).toEqual([{ file: locked, records: 0, torn: 0, tornBytes: 0, mistyped: 0, damage: 'database is locked (SQLITE_BUSY): another connection held it past the 5 s busy timeout; nothing read' }]);
      expect(summary.partial).toBe(true);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
  }, 30_000);
});
