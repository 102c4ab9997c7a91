import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/index.js';
import { runToEnd, waitFor } from '../helpers/processes.js';
import { usageRecord, writeJsonl } from '../helpers/usage-records.js';

// Two real writer processes on one JSON Lines ledger, the interleaving forced (no timing): process
// A has checked that the file it opened is still the one at the path and is held at its write()
// (a hook in fs.writeSync waits for a file to appear); meanwhile process B rotates the file. A's
// batch then lands in the rotated file. Before: that was the end of it — when B's compression had
// gzipped and deleted the rotated file meanwhile, A's record was gone (written, counted in
// `written`, read by no report). Now A checks again after writing and writes the batch again, with
// the same record id, to the file at the path; the report counts a record read twice once.
const root = resolve(import.meta.dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const T0 = Date.UTC(2026, 10, 20, 10);
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-window-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (script: string): { done: Promise<string> } => runToEnd(tsx, [script]);

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(tsx, [join(root, 'src/cli.ts'), ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A holds its write of record a-0 once armed; B writes b-0..b-9 with a small maxBytes (rotating first), compressing or not. */
async function interleave(name: string, compress: boolean): Promise<{ path: string; ledgerDir: string; outA: string; outB: string }> {
  const ledgerDir = join(dir, name);
  mkdirSync(ledgerDir);
  const path = join(ledgerDir, 'usage.jsonl');
  writeJsonl(path, Array.from({ length: 10 }, (_, i) => usageRecord({ startedAt: T0 + i, requestId: `init-${i}`, costUsd: 0.001 })));
  const stalled = join(dir, `${name}.stalled`);
  const go = join(dir, `${name}.go`);
  const ledgerModule = JSON.stringify(join(root, 'src/ledger/index.ts'));
  const records = JSON.stringify(join(root, 'test/helpers/usage-records.ts'));
  const a = join(dir, `${name}-a.mts`);
  writeFileSync(
    a,
    `import fs, { existsSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { jsonlLedger } from ${ledgerModule};
import { usageRecord } from ${records};
// Hold the first write the ledger makes once armed: it has opened the file and checked that it is
// still the one at the path (the check before writing), and has not written yet.
let armed = false;
const writeSync = fs.writeSync;
fs.writeSync = ((...args: Parameters<typeof writeSync>) => {
  if (armed) {
    armed = false;
    writeFileSync(${JSON.stringify(stalled)}, '');
    const nap = new Int32Array(new SharedArrayBuffer(4));
    while (!existsSync(${JSON.stringify(go)})) Atomics.wait(nap, 0, 0, 10);
  }
  return writeSync(...args);
}) as typeof writeSync;
syncBuiltinESMExports();
const ledger = jsonlLedger({ path: ${JSON.stringify(path)}, flushIntervalMs: 3_600_000 });
ledger.write(usageRecord({ startedAt: ${T0} + 100, requestId: 'a-0', costUsd: 0.001 }));
armed = true;
await ledger.flush();
await ledger.close();
console.log('A written', ledger.written, 'dropped', ledger.dropped);
`,
  );
  const b = join(dir, `${name}-b.mts`);
  writeFileSync(
    b,
    `import { jsonlLedger } from ${ledgerModule};
import { usageRecord } from ${records};
// A small maxBytes: B's batch does not fit beside the 10 records, so B rotates the file first.
const ledger = jsonlLedger({ path: ${JSON.stringify(path)}, maxBytes: 5_000, compress: ${String(compress)}, flushIntervalMs: 3_600_000 });
for (let i = 0; i < 10; i++) ledger.write(usageRecord({ startedAt: ${T0} + 200 + i, requestId: 'b-' + i, costUsd: 0.001 }));
await ledger.flush();
// With compress, close() waits for the compression due five seconds after the rotation: the rotated file is gzipped, then deleted.
await ledger.close();
console.log('B written', ledger.written);
`,
  );
  const writerA = run(a);
  await waitFor('A to hold its write', async () => (existsSync(stalled) ? true : undefined), 60_000, 20);
  const outB = await run(b).done;
  writeFileSync(go, '');
  const outA = await writerA.done;
  return { path, ledgerDir, outA, outB };
}

const requestIdsIn = (file: string): string[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => (JSON.parse(l) as { requestId?: string }).requestId ?? 'header');

describe('a writer process held between its check of the file and its write, while another rotates the file', () => {
  it('rotated file compressed and deleted before the held write lands: the write is repeated into the active file, 21 records read, exit 0', async () => {
    const { path, ledgerDir, outA, outB } = await interleave('compressed', true);
    expect(outB).toContain('B written 10');
    expect(outA).toContain('A written 1 dropped 0');
    // B rotated the file A held open, compressed it (10 init records, without a-0) and deleted it;
    // A's first write went to that deleted file. The active file: B's 10 records, then a-0.
    expect(readdirSync(ledgerDir).sort()).toEqual([expect.stringMatching(/^usage\.\d{8}T\d{6}Z\.\d+\.1\.jsonl\.gz$/), 'usage.jsonl']);
    expect(requestIdsIn(path)).toEqual([...Array.from({ length: 10 }, (_, i) => `b-${i}`), 'a-0']);
    // Read: 10 + 10 + 1 = 21 calls, $0.021. Before: 20 calls ($0.02), a-0 lost, exit 0 none the wiser.
    const r = cli('report', path, '--format', 'json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.totals.calls).toBe(21);
    expect(report.totals.costUsdDecimal).toBe('0.021000000');
    expect(report.input).toMatchObject({ records: 21, torn: 0, duplicates: 0, retried: 0, partial: false });
  }, 120_000);

  it('rotated file kept: the batch is in it and, written again, in the active file; the report reads a-0 twice and counts it once (21 records, 1 duplicate said), exit 0', async () => {
    const { path, ledgerDir, outA, outB } = await interleave('kept', false);
    expect(outB).toContain('B written 10');
    expect(outA).toContain('A written 1 dropped 0');
    const rotated = readdirSync(ledgerDir).filter((f) => f !== 'usage.jsonl');
    expect(rotated).toHaveLength(1);
    // Written: a-0 twice, with one record id: after the 10 init records in the rotated file, after B's 10 in the active one.
    expect(requestIdsIn(join(ledgerDir, rotated[0] ?? ''))).toEqual([...Array.from({ length: 10 }, (_, i) => `init-${i}`), 'a-0']);
    expect(requestIdsIn(path)).toEqual([...Array.from({ length: 10 }, (_, i) => `b-${i}`), 'a-0']);
    const idOf = (file: string): unknown => (JSON.parse(readFileSync(file, 'utf8').trim().split('\n').at(-1) ?? '{}') as { id?: unknown }).id;
    expect(idOf(path)).toBe(idOf(join(ledgerDir, rotated[0] ?? '')));
    const r = cli('report', path, '--format', 'json');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('1 record read twice (the same record id');
    const report = JSON.parse(r.stdout) as Report;
    expect(report.totals.calls).toBe(21);
    expect(report.totals.costUsdDecimal).toBe('0.021000000');
    expect(report.input).toMatchObject({ records: 21, torn: 0, duplicates: 1, partial: false });
    const focus = cli('export', path, '--format', 'focus');
    expect(focus.code).toBe(0);
    expect(focus.stderr).toContain('from 21 calls; BilledCost $0.021000000');
  }, 120_000);
});
