import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/index.js';
import { garbledCopy, writeSqliteLedger } from '../helpers/sqlite-files.js';
import { usageRecord, writeJsonl } from '../helpers/usage-records.js';

// `bedrock-finops report` over a JSON Lines ledger and two SQLite ledgers, one with two garbled
// pages (a bad sector) and one that is no database at all. Before: exit 1 and no report
// ("…: database disk image is malformed"): one damaged database hid every other file's spend.
const root = resolve(import.meta.dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const T0 = Date.UTC(2026, 10, 20, 10);
const cli = (...args: string[]) => spawnSync(tsx, [join(root, 'src/cli.ts'), ...args], { encoding: 'utf8', timeout: 60_000 });
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-sqlite-damaged-e2e-'));
  writeJsonl(join(dir, 'app.jsonl'), Array.from({ length: 100 }, (_, i) => usageRecord({ startedAt: T0 + i, requestId: `j-${i}`, costUsd: 0.001, attribution: { team: 'ads' } })));
  writeSqliteLedger(join(dir, 'good.db'), 0, 20_000, T0);
  garbledCopy(join(dir, 'good.db'), join(dir, 'batch.db'), Math.floor(statSync(join(dir, 'good.db')).size / 2), 8192);
  writeFileSync(join(dir, 'notes.sqlite'), 'not a database\n'.repeat(400));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a report over a fleet with a damaged SQLite ledger', () => {
  it('is written with every readable record, names each damaged file on stderr, and exits 3 (0 with --allow-partial); a typo still exits 1', () => {
    const args = ['report', join(dir, 'app.jsonl'), join(dir, 'batch.db'), join(dir, 'notes.sqlite'), '--by', 'team', '--json'];
    const r = cli(...args);
    expect(r.status).toBe(3);
    const report = JSON.parse(r.stdout) as Report;
    // Read: the 100 JSON Lines calls and the garbled database's rows outside its two damaged pages.
    expect(report.breakdowns[0]?.rows.find((x) => x.key === 'ads')?.calls).toBe(100);
    const fromDb = report.breakdowns[0]?.rows.find((x) => x.key === 'search')?.calls ?? 0;
    expect(fromDb).toBeGreaterThan(19_800);
    expect(fromDb).toBeLessThan(20_000);
    // Named: both files, what was read from each, and the rows that could not be.
    expect(r.stderr).toMatch(new RegExp(`${join(dir, 'batch.db')}: damaged \\(database disk image is malformed \\(SQLITE_CORRUPT\\); rowids \\d+–\\d+ could not be read\\): ${fromDb.toLocaleString('en-US')} records read from it, the rest could not be`));
    expect(r.stderr).toContain(`${join(dir, 'notes.sqlite')}: damaged (file is not a database (SQLITE_NOTADB); nothing read): 0 records read from it`);
    expect(r.stderr).toContain('incomplete: records in 2 ledger files could not be read (above), so the totals undercount; exit code 3');
    const accepted = cli(...args, '--allow-partial');
    expect(accepted.status).toBe(0);
    expect(accepted.stdout).toBe(r.stdout);
    // A typo still fails at once, naming the path (exit 1); the intact database alone exits 0 in silence.
    const typo = cli('report', join(dir, 'app.jsonl'), join(dir, 'gdoo.db'));
    expect(typo.status).toBe(1);
    expect(typo.stderr).toContain(`${join(dir, 'gdoo.db')}: no such file`);
    const intact = cli('report', join(dir, 'good.db'));
    expect(intact.status).toBe(0);
    expect(intact.stderr).toBe('');
  });
});
