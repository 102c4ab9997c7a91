import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/index.js';
import { storedLine, usageRecord, writeJsonl } from '../helpers/usage-records.js';

// Sums of money past ~$9 million, through the CLI. Each record's cost is a safe integer of
// nano-USD (parsing caps a call at ~$9 million); the sums are not: added in a double, a sum past
// 2^53 nano-USD rounds at every add (to 2, 4, … 256 nano-dollars), and 200 records of
// $6,543,210.987654321 plus one of $0.0141358 summed to 1308642197.544998400 instead of
// 1308642197.545000000: the FOCUS BilledCost off by 1,600 nano-dollars and the text total a cent
// short ($1,308,642,197.54: the exact total lies on a half cent, which rounds up).
const root = resolve(import.meta.dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const T0 = Date.UTC(2026, 10, 20, 10);
const BIG = 6_543_210.987654321;
const BIG_NANO = 6_543_210_987_654_321n;
// What brings the exact total to 1,308,642,197.545000000 (half a cent: the text rounds it up).
const REST_NANO = 1_308_642_197_545_000_000n - 200n * BIG_NANO;
const REST = Number(REST_NANO) / 1e9;
let dir = '';

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(tsx, [join(root, 'src/cli.ts'), ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The fields of one RFC 4180 line (quoted fields may hold commas and doubled quotes). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  for (let i = 0; i <= line.length; ) {
    if (line[i] === '"') {
      let v = '';
      for (i++; i < line.length; i++) {
        const c = line.charAt(i);
        if (c === '"' && line.charAt(i + 1) === '"') v += line.charAt(i++);
        else if (c === '"') break;
        else v += c;
      }
      out.push(v);
      i += 2;
    } else {
      const end = line.indexOf(',', i);
      out.push(line.slice(i, end === -1 ? line.length : end));
      i = end === -1 ? line.length + 1 : end + 1;
    }
  }
  return out;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-money-'));
  // One hour, one model, one team per record: team a holds 100 big records and the rest, team b
  // 100 big records; every record in one FOCUS row per team (each row's sum past 2^53 nano-USD).
  const records = [
    ...Array.from({ length: 200 }, (_, i) => usageRecord({ startedAt: T0 + i * 1_000, attribution: { team: i % 2 === 0 ? 'a' : 'b' }, costUsd: BIG, requestId: `big-${i}` })),
    usageRecord({ startedAt: T0 + 300_000, attribution: { team: 'a' }, costUsd: REST, requestId: 'rest' }),
  ];
  writeJsonl(join(dir, 'big.jsonl'), records);
  // The same ledger with absurd per-call costs beside (past the ~$9 million a call may cost, 1e300,
  // negative): skipped and named, never added.
  const absurd = [9_100_000, 1e300, -5].map((costUsd, i) => storedLine({ ...usageRecord({ startedAt: T0 + 400_000 + i, attribution: { team: 'a' }, requestId: `absurd-${i}` }), costUsd }));
  writeJsonl(join(dir, 'absurd.jsonl'), records, absurd);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('report and FOCUS sums past $9 million (2^53 nano-USD)', () => {
  it('the inputs: each record converts to nano-USD exactly, the sums do not fit a double', () => {
    expect(BigInt(Math.round(BIG * 1e9))).toBe(BIG_NANO);
    expect(BigInt(Math.round(REST * 1e9))).toBe(REST_NANO);
    expect(REST_NANO).toBe(14_135_800n);
    // What adding them in a double gave (the code before): 1,600 nano-dollars short.
    let double = 0;
    for (let i = 0; i < 200; i++) double += Number(BIG_NANO);
    double += Number(REST_NANO);
    expect(BigInt(double)).toBe(1_308_642_197_544_998_400n);
  });

  it('text: 201 calls, total $1,308,642,197.55 (exactly 1308642197.545 rounded half up), team a $654,321,098.78, team b $654,321,098.77; exit 0', () => {
    const r = cli('report', join(dir, 'big.jsonl'), '--by', 'team');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('201 calls from');
    // Before: total cost $1,308,642,197.54.
    expect(r.stdout).toContain('total cost $1,308,642,197.55;');
    // a: 100 × 6543210.987654321 + 0.0141358 = 654321098.779567900; b: 100 × = 654321098.765432100.
    expect(r.stdout).toMatch(/\na\s+101\s.*\$654,321,098\.78\s/);
    expect(r.stdout).toMatch(/\nb\s+100\s.*\$654,321,098\.77\s/);
  });

  it('HTML: the same exact totals as the text ($1,308,642,197.55; team a $654,321,098.78)', () => {
    const out = join(dir, 'report.html');
    const r = cli('report', join(dir, 'big.jsonl'), '--by', 'team', '--format', 'html', '--out', out);
    expect(r.code).toBe(0);
    const html = readFileSync(out, 'utf8');
    // Before: $1,308,642,197.54.
    expect(html).toContain('$1,308,642,197.55');
    expect(html).toContain('$654,321,098.78');
    expect(html).not.toContain('$1,308,642,197.54');
  });

  it('JSON: the exact decimals beside the numbers (total, per team), the rows adding up to the total', () => {
    const r = cli('report', join(dir, 'big.jsonl'), '--by', 'team', '--format', 'json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.totals.calls).toBe(201);
    expect(report.totals.costUsdDecimal).toBe('1308642197.545000000');
    expect(report.totals.totalCostUsdDecimal).toBe('1308642197.545000000');
    const rows = report.breakdowns[0]?.rows ?? [];
    expect(rows.map((row) => [row.key, row.calls, row.costUsdDecimal])).toEqual([
      ['a', 101, '654321098.779567900'],
      ['b', 100, '654321098.765432100'],
    ]);
    const sum = rows.reduce((s, row) => s + BigInt((row.costUsdDecimal ?? '').replace('.', '')), 0n);
    expect(sum).toBe(1_308_642_197_545_000_000n);
  });

  it('FOCUS CSV: two rows whose BilledCost are the exact team sums, adding up to 1308642197.545000000 (before: 1308642197.544998400)', () => {
    const out = join(dir, 'focus.csv');
    const r = cli('export', join(dir, 'big.jsonl'), '--format', 'focus', '--out', out);
    expect(r.code).toBe(0);
    // Before: "BilledCost $1308642197.544998400".
    expect(r.stderr).toContain('2 FOCUS rows from 201 calls; BilledCost $1308642197.545000000');
    const [head = '', ...rows] = readFileSync(out, 'utf8').trim().split('\r\n');
    const billed = head.split(',').indexOf('BilledCost');
    const costs = rows.map((line) => csvFields(line)[billed]);
    expect(costs.sort()).toEqual(['654321098.765432100', '654321098.779567900']);
  });

  it('absurd per-call costs ($9.1 million, 1e300, -5) are skipped and named (exit 3; exit 0 with --allow-partial), and the totals stay exact', () => {
    const strict = cli('report', join(dir, 'absurd.jsonl'), '--by', 'team');
    expect(strict.code).toBe(3);
    expect(strict.stderr).toContain('3 lines with wrong field types or absurd values not counted');
    expect(strict.stdout).toContain('total cost $1,308,642,197.55;');
    const accepted = cli('export', join(dir, 'absurd.jsonl'), '--format', 'focus', '--allow-partial');
    expect(accepted.code).toBe(0);
    expect(accepted.stderr).toContain('2 FOCUS rows from 201 calls; BilledCost $1308642197.545000000');
    expect(accepted.stdout).not.toContain('Infinity');
    expect(accepted.stdout).not.toMatch(/e\+/);
  });
});
