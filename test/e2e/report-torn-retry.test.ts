import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/index.js';

// A JSON Lines ledger written on a disk that refuses a batch part-way, then read by the CLI. Two
// ways, each where it can run: a tiny tmpfs in a user and mount namespace of its own (ENOSPC, the
// real full disk; space comes back and the writer retries into the same file, starting with a
// newline that ends the torn line) and everywhere a file-size limit (ulimit -f 8: EFBIG past 8 KiB;
// the retry rotates the full file and lands in the next one, which the limit tears again, three
// times). Each torn line is a byte prefix of a record written whole after it, with the same id:
// nothing was lost. Before: the report counted every such line as torn and exited 3.
const root = resolve(import.meta.dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const namespaces = spawnSync('unshare', ['-rm', 'true']).status === 0;
const ways = namespaces ? (['tmpfs', 'ulimit'] as const) : (['ulimit'] as const);
const T0 = Date.UTC(2026, 10, 20, 10);
const N = 60;
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-torn-retry-'));
  writeFileSync(
    join(dir, 'writer.mts'),
    `import { existsSync, unlinkSync } from 'node:fs';
import { jsonlLedger } from ${JSON.stringify(join(root, 'src/ledger/index.ts'))};
import { usageRecord } from ${JSON.stringify(join(root, 'test/helpers/usage-records.ts'))};
const [path, filler, maxBytes] = process.argv.slice(2) as [string, string, string];
const ledger = jsonlLedger({ path, maxBytes: Number(maxBytes), flushIntervalMs: 3_600_000 });
for (let i = 0; i < ${N}; i++) ledger.write(usageRecord({ startedAt: ${T0} + i * 1000, attribution: { team: 'team-' + (i % 3), feature: 'feature-with-a-long-name-' + i }, requestId: 'request-' + i, inputTokens: 1000 + i, costUsd: 0.001 }));
await ledger.flush();
const first = ledger.written;
// The full disk gets room again (tmpfs); the size limit stays, and each retry rotates the full file.
if (existsSync(filler)) unlinkSync(filler);
for (let k = 0; k < 10 && ledger.written < ${N}; k++) await ledger.flush();
await ledger.close();
console.log(JSON.stringify({ first, written: ledger.written, dropped: ledger.dropped }));
`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A writer whose first batch the 8 KiB limit tears 10 bytes into a line: `{"id":"AbC`, before the record's id is whole. */
const SHORT_TEAR = `import { jsonlLedger } from ${JSON.stringify(join(root, 'src/ledger/index.ts'))};
import { toStored } from ${JSON.stringify(join(root, 'src/ledger/ledger.ts'))};
import { usageRecord } from ${JSON.stringify(join(root, 'test/helpers/usage-records.ts'))};
const path = process.argv[2] as string;
const record = (i: number, pad: string) => usageRecord({ startedAt: ${T0} + i * 1000, attribution: { team: 'team-' + (i % 3), pad }, requestId: 'request-' + i, costUsd: 0.001 });
// Line lengths as the ledger writes them (its writer id is 12 characters): record 0 padded so that
// the lines before line k end 10 bytes short of the limit; k + 10 records in all.
const length = (i: number, pad: string) => Buffer.byteLength(JSON.stringify({ id: 'x'.repeat(12) + '.' + i.toString(36), ...toStored(record(i, pad)) })) + 1;
let k = 0;
let sum = 0;
while (sum + length(k, '') <= 8192 - 10) sum += length(k++, '');
const pad = 'p'.repeat(8192 - 10 - sum);
const n = k + 10;
const ledger = jsonlLedger({ path, maxBytes: 8192, flushIntervalMs: 3_600_000 });
for (let i = 0; i < n; i++) ledger.write(record(i, i === 0 ? pad : ''));
await ledger.flush();
const first = ledger.written;
for (let t = 0; t < 10 && ledger.written < n; t++) await ledger.flush();
await ledger.close();
console.log(JSON.stringify({ n, k, first, written: ledger.written, dropped: ledger.dropped }));
`;

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(tsx, [join(root, 'src/cli.ts'), ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the writer on a disk that refuses the batch part-way; returns its counts and the ledger's files (copied out of the tmpfs), oldest first. */
function writeOnFullDisk(way: 'tmpfs' | 'ulimit'): { counts: { first: number; written: number; dropped: number }; path: string; files: string[] } {
  const disk = join(dir, `${way}-disk`);
  const out = join(dir, way);
  mkdirSync(disk);
  mkdirSync(out);
  const writer = `${tsx} ${join(dir, 'writer.mts')}`;
  const script =
    way === 'tmpfs'
      ? [`mount -t tmpfs -o size=64k tmpfs ${disk}`, `cat /dev/zero > ${disk}/fill 2>/dev/null`, `truncate -s -8K ${disk}/fill`, `${writer} ${disk}/usage.jsonl ${disk}/fill 67108864`, `cp ${disk}/usage*.jsonl ${out}/`].join('\n')
      : `(ulimit -f 8; exec ${writer} ${disk}/usage.jsonl none 8192) && cp ${disk}/usage*.jsonl ${out}/`;
  const r = way === 'tmpfs' ? spawnSync('unshare', ['-rm', 'sh', '-c', script], { encoding: 'utf8', timeout: 60_000 }) : spawnSync('bash', ['-c', script], { encoding: 'utf8', timeout: 60_000 });
  expect(r.stderr).not.toContain('Error');
  expect(r.status).toBe(0);
  const files = readdirSync(out)
    .filter((f) => f !== 'usage.jsonl')
    .sort()
    .concat('usage.jsonl')
    .map((f) => join(out, f));
  return { counts: JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { first: number; written: number; dropped: number }, path: join(out, 'usage.jsonl'), files };
}

/** Lines that are not JSON, and whether each is a byte prefix of a whole line after it with the same id. */
function tornLines(files: readonly string[]): { torn: string[]; prefixOfLater: boolean[] } {
  const lines = files.flatMap((f) => readFileSync(f, 'utf8').split('\n')).filter((l) => l.length > 0);
  const torn: string[] = [];
  const prefixOfLater: boolean[] = [];
  lines.forEach((line, i) => {
    try {
      JSON.parse(line);
    } catch {
      torn.push(line);
      prefixOfLater.push(lines.slice(i + 1).some((l) => l.length > line.length && l.startsWith(line)));
    }
  });
  return { torn, prefixOfLater };
}

describe.each(ways)('a JSON Lines ledger whose writes a full disk tore part-way and the writer retried (%s)', (way) => {
  const tears = way === 'tmpfs' ? 1 : 3;
  let ledger: ReturnType<typeof writeOnFullDisk>;
  beforeAll(() => {
    ledger = writeOnFullDisk(way);
  });

  it(`written: ${N} records, every one in the end, none dropped; the files hold ${tears} torn line(s), each a prefix of a whole line after it`, () => {
    expect(ledger.counts.first).toBeGreaterThan(0);
    expect(ledger.counts.first).toBeLessThan(N);
    expect(ledger.counts).toMatchObject({ written: N, dropped: 0 });
    expect(ledger.files).toHaveLength(way === 'tmpfs' ? 1 : 4);
    const { torn, prefixOfLater } = tornLines(ledger.files);
    expect(torn).toHaveLength(tears);
    expect(prefixOfLater).toEqual(Array.from({ length: tears }, () => true));
    // Each tear came after the record's id (the first field), so the line still names its record.
    for (const line of torn) expect(line).toMatch(/^\{"id":"[\w-]{12}\.[0-9a-z]+",/);
  });

  it(`report: ${N} calls, $0.06, exit 0; the ${tears} retried write(s) counted and said on stderr, no torn line`, () => {
    const r = cli('report', ledger.path, '--format', 'json');
    // Before: exit 3, "torn lines … not counted", "incomplete: records in … ledger file(s) could not be read".
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`${tears} torn line${tears === 1 ? '' : 's'} left by a write that failed part-way (a full disk) and was retried whole after`);
    expect(r.stderr).not.toContain('incomplete');
    const report = JSON.parse(r.stdout) as Report;
    expect(report.totals.calls).toBe(N);
    expect(report.totals.costUsdDecimal).toBe('0.060000000');
    expect(report.input).toMatchObject({ records: N, torn: 0, mistyped: 0, skipped: 0, retried: tears, duplicates: 0, partial: false, problems: [] });
    const text = cli('report', ledger.path);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`${N} calls from`);
    expect(text.stdout).not.toContain('skipped');
  });

  it('FOCUS export of the same ledger: BilledCost $0.060000000 from 60 calls, exit 0', () => {
    const r = cli('export', ledger.path, '--format', 'focus');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`from ${N} calls; BilledCost $0.060000000`);
  });

  it('real damage still fails the run: a torn line naming a record never written whole, and a garbled copy of a real record, make exit 3 with 2 torn lines', () => {
    // The ledger's lines in one file (each file's torn tail ended by a newline, as the writer does).
    const body = ledger.files.map((f) => readFileSync(f, 'utf8').replace(/([^\n])$/, '$1\n')).join('');
    const whole = body.split('\n').filter((l) => l.startsWith('{"id"') && l.endsWith('}'));
    const last = whole.at(-1) ?? '';
    // A killed writer's last line: an id no whole line has (its record is lost).
    const lost = `${last.slice(0, 7)}${'Q'.repeat(12)}.zz${last.slice(last.indexOf('",')).slice(0, 120)}`;
    // A real record's first 150 bytes with one changed: same id, not its bytes (damage, not a retry).
    const garbled = `${last.slice(0, 100)}#${last.slice(101, 150)}`;
    const damaged = join(dir, `${way}-damaged.jsonl`);
    writeFileSync(damaged, `${lost}\n${garbled}\n${body}`);
    const r = cli('report', damaged, '--format', 'json');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`2 torn lines (${Buffer.byteLength(lost) + Buffer.byteLength(garbled)} bytes) not counted`);
    expect(r.stderr).toContain('incomplete');
    const report = JSON.parse(r.stdout) as Report;
    expect(report.totals.calls).toBe(N);
    expect(report.input).toMatchObject({ records: N, torn: 2, retried: tears, partial: true });
    expect(cli('report', damaged, '--allow-partial').code).toBe(0);
  });
});

describe('a write torn before its record id was whole (ulimit -f 8: the tear 10 bytes into a line)', () => {
  it('the torn line {"id":"AbC names no record; the writer marks the line it writes again ("tornBefore":[10]); the report matches them one for one: exit 0', () => {
    const disk = join(dir, 'short-disk');
    mkdirSync(disk);
    writeFileSync(join(dir, 'short.mts'), SHORT_TEAR);
    const r = spawnSync('bash', ['-c', `ulimit -f 8; exec ${tsx} ${join(dir, 'short.mts')} ${disk}/usage.jsonl`], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    const counts = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { n: number; k: number; first: number; written: number; dropped: number };
    // Written: n records, k whole in the first file, the rest after a rotation; none dropped.
    expect(counts).toMatchObject({ first: counts.k, written: counts.n, dropped: 0 });
    const files = readdirSync(disk).sort().map((f) => join(disk, f));
    expect(files).toHaveLength(2);
    const { torn, prefixOfLater } = tornLines(files);
    expect(torn).toHaveLength(1);
    expect(torn[0]).toMatch(/^\{"id":"[\w-]{3}$/);
    expect(prefixOfLater).toEqual([true]);
    expect(readFileSync(join(disk, 'usage.jsonl'), 'utf8').split('\n')[0]).toMatch(/,"tornBefore":\[10\]\}$/);
    const report = cli('report', join(disk, 'usage.jsonl'), '--format', 'json');
    // Before the mark: exit 3, "1 torn lines (10 bytes) not counted".
    expect(report.code).toBe(0);
    expect(report.stderr).toContain('1 torn line left by a write that failed part-way');
    const parsed = JSON.parse(report.stdout) as Report;
    expect(parsed.totals.calls).toBe(counts.n);
    expect(parsed.input).toMatchObject({ records: counts.n, torn: 0, retried: 1, duplicates: 0, partial: false });
    // Two such torn lines and one mark: one stays torn (exit 3).
    const both = join(dir, 'short-twice.jsonl');
    writeFileSync(both, `${torn[0] ?? ''}\n${files.map((f) => readFileSync(f, 'utf8').replace(/([^\n])$/, '$1\n')).join('')}`);
    const twice = cli('report', both, '--format', 'json');
    expect(twice.code).toBe(3);
    expect(twice.stderr).toContain('1 torn lines (10 bytes) not counted');
    expect(JSON.parse(twice.stdout) as Report).toMatchObject({ input: { records: counts.n, torn: 1, retried: 1 } });
  });
});
