import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { jsonlLedger } from '../../src/ledger/index.js';
import type { Report } from '../../src/report/index.js';
import { usageRecord } from '../helpers/usage-records.js';

// The ledger's writes go through this hook: once armed, the first write renames the file to
// `rotated` (another process rotating it under the writer), lands `landed` bytes and the next one
// fails (a full disk). The writer retries into the file now at the path; the test then renames
// that one as a process with a lower pid rotating it in the same second, so the report, reading
// rotated files oldest first (time, then pid), reads the whole line written again BEFORE its torn
// first attempt. Then the CLI reads the ledger.
const hook = vi.hoisted(() => ({ armed: false, landed: 0, path: '', rotated: '' }));
vi.mock('node:fs', async (importOriginal) => (await import('../helpers/tearing-fs.js')).tearingFs(await importOriginal<typeof fs>(), hook));

const root = resolve(import.meta.dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const T0 = Date.UTC(2026, 10, 20, 10);
const ARN = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123def456';
let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-torn-any-order-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(tsx, [join(root, 'src/cli.ts'), ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Record 0 written whole; records 1 and 2 torn `landed` bytes into the batch in the file "process
 * 900" rotates; written again whole in the next file, which "process 100" rotates in the same
 * second; record 3 in the active file. With `header`, the ledger has a header (the tear can fall in it).
 */
async function tornThenRotated(landed: number, header: boolean): Promise<{ path: string; files: string[] }> {
  const path = join(dir, 'usage.jsonl');
  const byPid = (pid: number): string => join(dir, `usage.20261120T100000Z.${pid}.1.jsonl`);
  Object.assign(hook, { path, rotated: byPid(900) });
  const ledger = jsonlLedger({ path, flushIntervalMs: 3_600_000 });
  if (header) ledger.describe?.({ provisioned: { [ARN]: { model: 'amazon.nova-micro-v1:0', modelUnits: 1, hourlyCostUsd: 20 } } });
  ledger.write(usageRecord({ startedAt: T0, requestId: 'r-0', costUsd: 0.001 }));
  await ledger.flush();
  for (let i = 1; i < 3; i++) ledger.write(usageRecord({ startedAt: T0 + i, requestId: `r-${i}`, costUsd: 0.001 }));
  Object.assign(hook, { armed: true, landed });
  await ledger.flush();
  expect([ledger.written, ledger.dropped]).toEqual([1, 0]);
  await ledger.flush();
  renameSync(path, byPid(100));
  ledger.write(usageRecord({ startedAt: T0 + 3, requestId: 'r-3', costUsd: 0.001 }));
  await ledger.close();
  expect([ledger.written, ledger.dropped]).toEqual([4, 0]);
  return { path, files: readdirSync(dir).sort() };
}

const tornLine = (file: string): string => readFileSync(join(dir, file), 'utf8').split('\n').find((l) => l.length > 0 && !l.endsWith('}')) ?? '';

describe('a torn line read after the whole line written again (two rotations in one second, read by pid)', () => {
  it('torn 150 bytes into record 1 (its id whole): 4 calls, $0.004, retried 1, exit 0', async () => {
    const { path, files } = await tornThenRotated(150, false);
    expect(files).toEqual(['usage.20261120T100000Z.100.1.jsonl', 'usage.20261120T100000Z.900.1.jsonl', 'usage.jsonl']);
    expect(tornLine(files[1] ?? '')).toMatch(/^\{"id":"[\w-]{12}\.1",/);
    expect(Buffer.byteLength(tornLine(files[1] ?? ''))).toBe(150);
    const r = cli('report', path, '--format', 'json');
    // Before: exit 3, "1 torn lines (150 bytes) not counted" (the whole line had been read and forgotten).
    expect(r.stderr).toContain('1 torn line left by a write that failed part-way');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.totals.costUsdDecimal).toBe('0.004000000');
    expect(report.input).toMatchObject({ records: 4, torn: 0, retried: 1, duplicates: 0, partial: false });
  });

  it('torn 10 bytes into record 1 ({"id":"AbC, before its id was whole): 4 calls, retried 1, exit 0', async () => {
    const { path, files } = await tornThenRotated(10, false);
    expect(tornLine(files[1] ?? '')).toMatch(/^\{"id":"[\w-]{3}$/);
    const r = cli('report', path, '--format', 'json');
    // Before: exit 3, "1 torn lines (10 bytes) not counted" (the mark was read before the torn line it names).
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout) as Report).toMatchObject({ totals: { calls: 4 }, input: { records: 4, torn: 0, retried: 1, partial: false } });
  });

  it('a torn line of another record (bytes no whole line starts with) read in the same place still fails the run: exit 3', async () => {
    const { path, files } = await tornThenRotated(150, false);
    const torn = tornLine(files[1] ?? '');
    const other = join(dir, files[1] ?? '');
    // The tear's bytes with one changed: same id, not the bytes of the record's line.
    fs.writeFileSync(other, readFileSync(other, 'utf8').replace(torn, `${torn.slice(0, 100)}#${torn.slice(101)}`));
    const r = cli('report', path, '--format', 'json');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('1 torn lines (150 bytes) not counted');
    expect(JSON.parse(r.stdout) as Report).toMatchObject({ totals: { calls: 4 }, input: { records: 4, torn: 1, retried: 0, partial: true } });
  });
});

/**
 * The ledger header (the provisioned configuration, the first line of every file) torn `landed`
 * bytes in: the file is rotated under the writer as process `tornPid`, the disk refuses the rest.
 * The writer writes header and record 0 again to the next file, which process `retryPid` rotates
 * in the same second; record 1 goes to the active file (under the plain header).
 */
async function headerTornThenRotated(landed: number, tornPid: number, retryPid: number): Promise<{ path: string; torn: string }> {
  const path = join(dir, 'usage.jsonl');
  const byPid = (pid: number): string => join(dir, `usage.20261120T100000Z.${pid}.1.jsonl`);
  Object.assign(hook, { path, rotated: byPid(tornPid), armed: true, landed });
  const ledger = jsonlLedger({ path, flushIntervalMs: 3_600_000 });
  ledger.describe?.({ provisioned: { [ARN]: { model: 'amazon.nova-micro-v1:0', modelUnits: 1, hourlyCostUsd: 20 } } });
  ledger.write(usageRecord({ startedAt: T0, requestId: 'r-0', costUsd: 0.001 }));
  await ledger.flush();
  expect(ledger.written).toBe(0);
  await ledger.flush();
  renameSync(path, byPid(retryPid));
  ledger.write(usageRecord({ startedAt: T0 + 1, requestId: 'r-1', costUsd: 0.001 }));
  await ledger.close();
  expect([ledger.written, ledger.dropped]).toEqual([2, 0]);
  return { path, torn: readFileSync(byPid(tornPid), 'utf8') };
}

describe('a torn ledger header', () => {
  it.each([
    ['before', 900, 100],
    ['after', 100, 900],
  ])('retried whole, read %s its torn first attempt: not damage; 2 calls, a 20 USD commitment, retried 1, exit 0', async (_, tornPid, retryPid) => {
    const { path, torn } = await headerTornThenRotated(60, tornPid, retryPid);
    expect(torn).toMatch(/^\{"type":"bedrock-finops\.header",/);
    expect(Buffer.byteLength(torn)).toBe(60);
    const r = cli('report', path, '--format', 'json');
    // Before: exit 3, "1 torn lines (60 bytes) not counted", in either order (a header's tear was never matched).
    expect(r.stderr).toContain('1 torn line left by a write that failed part-way');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.input).toMatchObject({ records: 2, torn: 0, retried: 1, partial: false });
    expect(report.totals).toMatchObject({ calls: 2, costUsdDecimal: '0.002000000', commitmentCostUsdDecimal: '20.000000000' });
  });

  it('torn 2 bytes in ({"), read after its retry: matched by the mark, exit 0', async () => {
    const { path, torn } = await headerTornThenRotated(2, 900, 100);
    expect(torn).toBe('{"');
    const r = cli('report', path, '--format', 'json');
    // Before: exit 3 ("1 torn lines (2 bytes)").
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout) as Report).toMatchObject({ input: { records: 2, torn: 0, retried: 1 } });
  });

  // Two processes of a fleet start in the same ten minutes: A (pid 4242, a 20 USD/h commitment) tears its first write 60 bytes into
  // its header (a full disk) and is killed before it writes again, its header and the batch written with it lost; B (pid 4243, 30 USD/h)
  // writes its header whole. A header names no writer: A's 60 bytes ({"type":"bedrock-finops.header","writtenAt":"2026-11-20T10:0) start B's.
  const fleetHeader = (pid: number, arn: string, hourlyCostUsd: number, at: string, marks?: number[]): string =>
    JSON.stringify({ type: 'bedrock-finops.header', writtenAt: at, pid, provisioned: { [arn]: { model: 'amazon.nova-micro-v1:0', modelUnits: 1, hourlyCostUsd } }, ...(marks === undefined ? {} : { tornBefore: marks }) });
  const fleetRecord = (i: number): string => `{"id":"BbBbBbBbBbBb.${i}",${JSON.stringify({ ...usageRecord({ startedAt: T0 + i, costUsd: 0.001 }), startedAt: new Date(T0 + i).toISOString() }).slice(1)}`;
  const ARN_B = ARN.replace('abc123def456', 'bbbbbbbbbbbb');

  it("torn in one process that never wrote it again, beside another process's whole header starting with its bytes: lost, exit 3", () => {
    const path = join(dir, 'usage.jsonl');
    const a = fleetHeader(4242, ARN, 20, '2026-11-20T10:00:01.234Z');
    fs.writeFileSync(path, `${a.slice(0, 60)}\n${fleetHeader(4243, ARN_B, 30, '2026-11-20T10:03:07.890Z')}\n${fleetRecord(0)}\n${fleetRecord(1)}\n`);
    const r = cli('report', path, '--format', 'json');
    // Before: exit 0, "1 torn line left by a write that failed part-way ... nothing lost" (retried 1), commitments 30 USD: A's 20 USD/h and its batch missing, silently.
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('1 torn lines (60 bytes) not counted; one of them a ledger header never written whole');
    expect(JSON.parse(r.stdout) as Report).toMatchObject({ totals: { calls: 2, commitmentCostUsdDecimal: '30.000000000' }, input: { records: 2, torn: 1, retried: 0, partial: true, problems: [{ file: path, torn: 1, tornBytes: 60, tornHeaders: 1 }] } });
  });

  it('two processes torn to the same 60 bytes, one of them written again with its mark: that one retried, the other lost, exit 3', () => {
    const path = join(dir, 'usage.jsonl');
    const a = fleetHeader(4242, ARN, 20, '2026-11-20T10:00:01.234Z');
    const b = fleetHeader(4243, ARN_B, 30, '2026-11-20T10:03:07.890Z');
    expect(a.slice(0, 60)).toBe(b.slice(0, 60));
    fs.writeFileSync(path, `${a.slice(0, 60)}\n${b.slice(0, 60)}\n${fleetHeader(4243, ARN_B, 30, '2026-11-20T10:03:07.890Z', [60])}\n${fleetRecord(0)}\n`);
    const r = cli('report', path, '--format', 'json');
    // Before: exit 0, retried 2 (a tear of a header's first 60 bytes was taken as naming its header: B's one mark resolved both).
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout) as Report).toMatchObject({ totals: { calls: 1 }, input: { records: 1, torn: 1, retried: 1, partial: true, problems: [{ file: path, torn: 1, tornBytes: 60, tornHeaders: 1 }] } });
  });

  it("a marked header read twice (its file given under two names): its mark counts once, the other process's tear of the same bytes stays lost, exit 3", () => {
    const path = join(dir, 'usage.jsonl');
    const a = fleetHeader(4242, ARN, 20, '2026-11-20T10:00:01.234Z');
    const b = fleetHeader(4243, ARN_B, 30, '2026-11-20T10:03:07.890Z');
    fs.writeFileSync(path, `${a.slice(0, 60)}\n${b.slice(0, 60)}\n${fleetRecord(1)}\n`);
    const retried = `${fleetHeader(4243, ARN_B, 30, '2026-11-20T10:03:07.890Z', [60])}\n${fleetRecord(0)}\n`;
    fs.mkdirSync(join(dir, 'backup'));
    fs.writeFileSync(join(dir, 'b.jsonl'), retried);
    fs.writeFileSync(join(dir, 'backup', 'b.jsonl'), retried);
    const r = cli('report', path, join(dir, 'b.jsonl'), join(dir, 'backup', 'b.jsonl'), '--format', 'json');
    // Before: exit 0, retried 2 (B's one mark, read in both copies, resolved A's lost header too); the record, read twice, was counted once then as now.
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout) as Report).toMatchObject({ totals: { calls: 2 }, input: { records: 2, duplicates: 1, torn: 1, retried: 1, partial: true, problems: [{ file: path, torn: 1, tornBytes: 60, tornHeaders: 1 }] } });
  });

  it('never written whole (its writer killed mid-header): said as a lost header, exit 3; the commitment it carried is not in the totals', () => {
    const path = join(dir, 'usage.jsonl');
    const header = JSON.stringify({ type: 'bedrock-finops.header', writtenAt: '2026-11-20T10:00:00.000Z', pid: 4242, provisioned: { [ARN]: { hourlyCostUsd: 20 } } });
    const record = (i: number): string => `{"id":"AbCdEfGhIjKl.${i}",${JSON.stringify({ ...usageRecord({ startedAt: T0 + i, costUsd: 0.001 }), startedAt: new Date(T0 + i).toISOString() }).slice(1)}`;
    fs.writeFileSync(path, `${header.slice(0, 80)}\n${record(0)}\n${record(1)}\n`);
    const r = cli('report', path, '--format', 'json');
    expect(r.code).toBe(3);
    // Before: only "1 torn lines (80 bytes) not counted": nothing said that it was the header, with the provisioned configuration.
    expect(r.stderr).toContain('1 torn lines (80 bytes) not counted; one of them a ledger header never written whole: the provisioned commitments it carried are missing');
    expect(JSON.parse(r.stdout) as Report).toMatchObject({ totals: { calls: 2, commitmentCostUsd: 0 }, input: { records: 2, torn: 1, retried: 0, partial: true, problems: [{ file: path, torn: 1, tornBytes: 80, tornHeaders: 1 }] } });
  });
});
