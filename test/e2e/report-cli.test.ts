import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteLedger } from '../../src/ledger/index.js';
import type { Report } from '../../src/report/index.js';
import type { UsageRecord } from '../../src/index.js';
import { nanoSum, storedLine, usageRecord, writeJsonl } from '../helpers/usage-records.js';

const root = resolve(import.meta.dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const T0 = Date.UTC(2026, 10, 20);
const DAY = 86_400_000;
let dir = '';

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(tsx, [join(root, 'src/cli.ts'), ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** One pod's records: `team` on two models over three days, $0.001 + $0.0001 × i each. */
function pod(team: string, count: number): UsageRecord[] {
  return Array.from({ length: count }, (_, i) =>
    usageRecord({ startedAt: T0 + (i % 3) * DAY + i * 1_000, modelId: i % 2 === 0 ? 'us.amazon.nova-lite-v1:0' : 'amazon.nova-micro-v1:0', attribution: { team, feature: 'chat' }, inputTokens: 100 + i, outputTokens: 20, costUsd: 0.001 + 0.0001 * i, requestId: `${team}-${i}` }),
  );
}

const fleet: UsageRecord[] = [];
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-cli-'));
  mkdirSync(join(dir, 'ledgers'));
  for (const team of ['search', 'support', 'ads']) {
    const records = pod(team, 30);
    fleet.push(...records);
    writeJsonl(join(dir, 'ledgers', `${team}.jsonl`), records);
  }
  const db = await sqliteLedger({ path: join(dir, 'batch.db'), flushIntervalMs: 5 });
  for (const r of pod('batch', 12)) {
    fleet.push(r);
    db.write(r);
  }
  await db.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const json = (out: string): Report => JSON.parse(out) as Report;

describe('bedrock-finops report: errors are errors', () => {
  it.each([
    ['--help', ['--help'], 0, /commands:/],
    ['report --help', ['report', '--help'], 0, /--since/],
    ['export --help', ['export', '-h'], 0, /FOCUS 1\.2/],
  ])('%s prints usage and exits 0', (_, args, code, text) => {
    const r = cli(...args);
    expect(r.code).toBe(code);
    expect(r.stdout).toMatch(text);
  });

  it.each([
    ['no command', [], 2, /usage: bedrock-finops/],
    ['an unknown command', ['reprot', 'x.jsonl'], 2, /unknown command reprot/],
    ['no ledger', ['report'], 2, /no ledger given/],
    ['an unknown flag', ['report', 'ledgers/search.jsonl', '--bye', 'team'], 2, /Unknown option '--bye'/],
    ['a bad date', ['report', 'ledgers/search.jsonl', '--since', '20/11/2026'], 2, /--since 20\/11\/2026: not a date/],
    ['an empty window', ['report', 'ledgers/search.jsonl', '--since', '2026-11-21', '--until', '2026-11-20'], 2, /is not before --until/],
    ['an unknown format', ['report', 'ledgers/search.jsonl', '--format', 'xml'], 2, /--format xml/],
    ['a missing file', ['report', 'ledgers/nope.jsonl'], 1, /ledgers\/nope\.jsonl: no such file/],
    ['a directory', ['report', 'ledgers'], 1, /ledgers: is a directory/],
    ['a glob matching nothing', ['report', 'ledgers/*.db'], 1, /ledgers\/\*\.db: matches no file/],
    ['an empty ledger', ['report', 'empty.jsonl'], 1, /empty\.jsonl: no usage records/],
    ['a second, missing ledger', ['report', 'ledgers/search.jsonl', 'other.jsonl'], 1, /other\.jsonl: no such file/],
    ['export without --format focus', ['export', 'ledgers/search.jsonl'], 2, /--format focus is required/],
  ])('%s exits non-zero and says what is wrong', (_, args, code, message) => {
    writeFileSync(join(dir, 'empty.jsonl'), '');
    const r = spawnSync(tsx, [join(root, 'src/cli.ts'), ...args], { encoding: 'utf8', cwd: dir, timeout: 60_000 });
    expect(r.status).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it.each([
    // Before: exit 1, "The number Infinity cannot be converted to a BigInt" (hourly cost × 1e9 overflowed).
    ['report', '1e300'],
    // Before: exit 0, "+ $99,999,999,999,999,991,433.15 provisioned commitments" (a double past 2^53 nano-USD, not 1e20 USD).
    ['report', '1e20'],
    // Before: exit 0, the commitment 0 nano-USD: left out of the totals, "no verdict: the hourly cost is unknown".
    ['report', '1e-12'],
    // Before: exit 0, the FOCUS commitment rows billed 99999999999999991433.150857216 each hour.
    ['export', '1e20'],
  ])('%s --config with an hourly cost of %s USD (money it cannot count in nano-USD): exit 2 naming the field', (command, cost) => {
    const config = join(dir, `config-${cost}.json`);
    writeFileSync(config, `{"provisioned":{"arn:aws:bedrock:us-east-1:1:provisioned-model/p":{"modelUnits":1,"hourlyCostUsd":${cost}}}}`);
    const r = cli(command, join(dir, 'ledgers/search.jsonl'), '--config', config, ...(command === 'export' ? ['--format', 'focus'] : []));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('.hourlyCostUsd must be between 0.000000001 and 9007199 USD an hour');
    expect(r.stdout).toBe('');
  });
});

describe('bedrock-finops report: a fleet', () => {
  it('merges a glob of JSON Lines ledgers and a SQLite ledger, every dollar counted once (--json keeps the existing fields)', () => {
    const r = cli('report', join(dir, 'ledgers/*.jsonl'), join(dir, 'batch.db'), join(dir, 'ledgers/search.jsonl'), '--json');
    expect(r.code).toBe(0);
    const report = json(r.stdout);
    expect(report.totals.calls).toBe(102);
    expect(Math.round(report.totals.costUsd * 1e9)).toBe(nanoSum(fleet.map((x) => x.costUsd)));
    expect(report.breakdowns.map((b) => b.dimension)).toEqual(['team', 'feature', 'model', 'day']);
    expect(Object.fromEntries(report.breakdowns[0]!.rows.map((x) => [x.key, x.calls]))).toEqual({ search: 30, support: 30, ads: 30, batch: 12 });
    expect(report.input).toMatchObject({ records: 102, skipped: 0 });
    expect(report.input?.files).toHaveLength(4);
  });

  it('keeps only --since/--until and groups --by team,model as one team × model table', () => {
    const r = cli('report', join(dir, 'ledgers/*.jsonl'), '--since', '2026-11-21', '--until', '2026-11-22', '--by', 'team,model', '--by', 'day', '--format', 'json');
    const report = json(r.stdout);
    const inWindow = fleet.filter((x) => x.startedAt >= T0 + DAY && x.startedAt < T0 + 2 * DAY && x.attribution.team !== 'batch');
    expect(report.totals.calls).toBe(inWindow.length);
    expect(report.breakdowns[1]!.rows.map((x) => x.key)).toEqual(['2026-11-21']);
    const crossTab = report.breakdowns[0]!;
    expect(crossTab.dimensions).toEqual(['team', 'model']);
    expect(crossTab.rows).toHaveLength(6);
    const cell = crossTab.rows.find((x) => x.keys.team === 'ads' && x.keys.model === 'amazon.nova-micro-v1:0')!;
    const expected = inWindow.filter((x) => x.attribution.team === 'ads' && x.modelId === 'amazon.nova-micro-v1:0');
    expect(cell.calls).toBe(expected.length);
    expect(Math.round(cell.costUsd * 1e9)).toBe(nanoSum(expected.map((x) => x.costUsd)));
    expect(report.input?.outside).toBe(90 - inWindow.length);
    const text = cli('report', join(dir, 'ledgers/*.jsonl'), '--by', 'team,model').stdout;
    expect(text).toMatch(/Cost and tokens by team × model\nteam +model +calls/);
  });

  it('prints the breakdowns as CSV', () => {
    const r = cli('report', join(dir, 'batch.db'), '--by', 'team,model', '--format', 'csv');
    const lines = r.stdout.trimEnd().split('\r\n');
    expect(lines[0]).toBe('breakdown,team,model,calls,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,cost_usd');
    // The breakdown's name holds a comma, so it is quoted.
    expect(lines.slice(1).map((l) => l.replace(/^"team,model",/, '').split(',').slice(0, 3))).toEqual([
      ['batch', 'amazon.nova-micro-v1:0', '6'],
      ['batch', 'us.amazon.nova-lite-v1:0', '6'],
    ]);
  });

  it('skips torn and mistyped lines, counts them, names the file, still reports the rest, and exits 3 unless --allow-partial', () => {
    const path = join(dir, 'dirty.jsonl');
    const good = pod('dirty', 4);
    const line = JSON.parse(storedLine(good[0]!)) as Record<string, unknown>;
    writeJsonl(path, good, ['{"operation":"Conv', JSON.stringify({ ...line, attribution: null }), JSON.stringify({ ...line, inputTokens: '12' })]);
    const r = cli('report', path, '--json');
    // The report is written, the file and its losses named, and the exit code says the totals undercount (3).
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('skipped 3 unreadable ledger lines (1 torn, 2 with wrong field types)');
    expect(r.stderr).toContain(`${path}: 1 torn lines (18 bytes) not counted; 2 lines with wrong field types or absurd values not counted`);
    expect(r.stderr).toContain('exit code 3 (pass --allow-partial to accept partial input)');
    expect(json(r.stdout)).toMatchObject({ totals: { calls: 4 }, input: { torn: 1, mistyped: 2, skipped: 3, partial: true, problems: [{ file: path, records: 4, torn: 1, mistyped: 2 }] } });
    const accepted = cli('report', path, '--allow-partial');
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toContain('skipped 3 unreadable ledger lines');
    expect(accepted.stderr).toContain('partial input accepted (--allow-partial)');
  });

  it('keeps --html <file> as an alias and --out for any format', () => {
    const html = join(dir, 'alias.html');
    const r = cli('report', join(dir, 'batch.db'), '--html', html);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(readFileSync(html, 'utf8')).toContain('<h1>bedrock-finops report</h1>');
    const out = join(dir, 'out.json');
    cli('report', join(dir, 'batch.db'), '--format', 'json', '--out', out);
    expect(json(readFileSync(out, 'utf8')).totals.calls).toBe(12);
  });
});
