import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/index.js';
import { storedLine, usageRecord } from '../helpers/usage-records.js';

// `bedrock-finops report` / `export` over a fleet directory in which one rotated, compressed
// file is truncated (a disk that filled while it was written, a partial copy).
const root = resolve(import.meta.dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const T0 = Date.UTC(2026, 10, 20, 10);
let dir = '';
let ledger = '';
const DAMAGED = 'usage.20261120T100001Z.7.2.jsonl.gz';
const cli = (...args: string[]) => spawnSync(tsx, [join(root, 'src/cli.ts'), ...args], { encoding: 'utf8', timeout: 60_000 });
const lines = (from: number, to: number): string => {
  let s = '';
  for (let i = from; i < to; i++) s += `${storedLine(usageRecord({ startedAt: T0 + i, requestId: `r-${i}`, costUsd: 0.001, attribution: { team: i < 3000 ? 'search' : 'ads' } }))}\n`;
  return s;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-damaged-e2e-'));
  mkdirSync(join(dir, 'fleet'));
  ledger = join(dir, 'fleet', 'usage.jsonl');
  writeFileSync(join(dir, 'fleet', 'usage.20261120T100000Z.7.1.jsonl.gz'), gzipSync(lines(0, 2000)));
  const gz = gzipSync(lines(2000, 4000));
  writeFileSync(join(dir, 'fleet', DAMAGED), gz.subarray(0, Math.floor(gz.length / 2)));
  writeFileSync(ledger, lines(4000, 4100));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a report over a fleet with one truncated .jsonl.gz', () => {
  it('is written with every readable record, names the damaged file on stderr, and exits 3', () => {
    const r = cli('report', ledger, '--by', 'team', '--json');
    // Before: exit 1, no report ("…jsonl.gz: unexpected end of file"): one damaged archive hid every other file's spend.
    expect(r.status).toBe(3);
    const report = JSON.parse(r.stdout) as Report;
    const calls = report.totals.calls;
    // The two intact files (2,100 calls) and the complete records before the damage.
    expect(calls).toBeGreaterThan(2_100);
    expect(calls).toBeLessThan(4_100);
    expect(report.breakdowns[0]?.rows.find((x) => x.key === 'ads')?.calls).toBe(100);
    expect(report.input).toMatchObject({ partial: true, problems: [{ file: join(dir, 'fleet', DAMAGED), records: calls - 2_100, unreadBytes: 0 }] });
    expect(r.stderr).toContain(`${join(dir, 'fleet', DAMAGED)}: damaged (unexpected end of file (Z_BUF_ERROR)): ${(calls - 2_100).toLocaleString('en-US')} records read from it, the rest could not be; the file ends early (truncated)`);
    expect(r.stderr).toContain('incomplete: records in 1 ledger file could not be read (above), so the totals undercount; exit code 3 (pass --allow-partial to accept partial input)');
  });

  it('--allow-partial accepts it: the same report, the damage still named, exit 0', () => {
    const strict = cli('report', ledger, '--json');
    const r = cli('report', ledger, '--json', '--allow-partial');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(strict.stdout);
    expect(r.stderr).toContain(`${join(dir, 'fleet', DAMAGED)}: damaged`);
    expect(r.stderr).toContain('partial input accepted (--allow-partial)');
  });

  it('the FOCUS export follows the same rule: rows written, damage named, exit 3 (0 with --allow-partial)', () => {
    const r = cli('export', ledger, '--format', 'focus');
    expect(r.status).toBe(3);
    expect(r.stdout.split('\n')[0]).toContain('BilledCost');
    expect(r.stderr).toContain(`${join(dir, 'fleet', DAMAGED)}: damaged`);
    expect(cli('export', ledger, '--format', 'focus', '--allow-partial').status).toBe(0);
  });

  it('an intact ledger exits 0 and says nothing about problems', () => {
    const r = cli('report', join(dir, 'fleet', 'usage.20261120T100000Z.7.1.jsonl.gz'));
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
  });
});
