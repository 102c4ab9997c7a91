import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedrockFinOps } from '../../src/index.js';
import { jsonlLedger, readLedgers } from '../../src/ledger/index.js';
import { SimulatorEngine, simulatorRequestHandler } from '../../src/testing/index.js';
import { storedLine, usageRecord } from '../helpers/usage-records.js';

// Adversarial pass over the ledgers and the report, through real processes, a real client and the CLI.
const root = resolve(import.meta.dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const T0 = Date.UTC(2026, 10, 20, 10);
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-adv2-e2e-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...args: string[]) => spawnSync(tsx, [join(root, 'src/cli.ts'), ...args], { encoding: 'utf8', timeout: 60_000 });

async function requestIds(...paths: string[]): Promise<{ ids: string[]; torn: number; retried: number }> {
  const ids: string[] = [];
  const read = await readLedgers(paths, { record: (r) => ids.push(r.requestId ?? '') });
  return { ids, torn: read.torn, retried: read.retried };
}

describe('a JSON Lines ledger on a disk that fills up part-way through a batch', () => {
  it('counts the lines that reached the file as written and retries only the rest: nothing lost, nothing written twice', async () => {
    // A child process limited to 40 KiB files (ulimit -f: writes past it fail with EFBIG after a
    // short write, as on a full disk) writes 40 records, then 60 more: the second batch stops
    // part-way. The operator then moves the full file aside and the ledger writes what is left.
    const path = join(dir, 'efbig.jsonl');
    const child = join(dir, 'efbig-child.mts');
    writeFileSync(
      child,
      `import { renameSync } from 'node:fs';
import { jsonlLedger } from ${JSON.stringify(join(root, 'src/ledger/index.ts'))};
import { usageRecord } from ${JSON.stringify(join(root, 'test/helpers/usage-records.ts'))};
const ledger = jsonlLedger({ path: ${JSON.stringify(path)}, flushIntervalMs: 3_600_000 });
let i = 0;
const batch = (n: number) => { for (let k = 0; k < n; k++, i++) ledger.write(usageRecord({ startedAt: ${T0} + i, requestId: 'r-' + i, costUsd: 1 })); };
batch(40);
await ledger.flush();
batch(60);
await ledger.flush();
const partial = ledger.written;
renameSync(${JSON.stringify(path)}, ${JSON.stringify(`${path}.full`)});
await ledger.close();
console.log(JSON.stringify({ partial, written: ledger.written, dropped: ledger.dropped }));
`,
    );
    const r = spawnSync('bash', ['-c', `ulimit -f 40 && exec ${JSON.stringify(tsx)} ${JSON.stringify(child)}`], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(statSync(`${path}.full`).size).toBe(40 * 1024);
    const counts = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { partial: number; written: number; dropped: number };
    // Read: both files. Before the fix the whole second batch was kept and retried, so the records
    // that had reached the full file were written again (53 duplicates here), and `written` said 40.
    const { ids, torn, retried } = await requestIds(`${path}.full`, path);
    expect(ids).toHaveLength(100);
    expect(new Set(ids).size).toBe(100);
    // The full file's last line is torn, and its record was written whole in the new file: a retried
    // write (counted once, not a loss). Before record ids: torn 1, and the report exited 3.
    expect(torn).toBe(0);
    expect(retried).toBe(1);
    expect(counts.partial).toBeGreaterThan(40);
    expect(counts.partial).toBeLessThan(100);
    expect(counts).toMatchObject({ written: 100, dropped: 0 });
  }, 60_000);
});

describe('shutdown() while calls are in flight', () => {
  it('the records of calls that settle after shutdown are in the JSON Lines ledger', async () => {
    // Three Converse calls wait in the request handler; shutdown() is called; then they are answered.
    const path = join(dir, 'shutdown-race.jsonl');
    const ledger = jsonlLedger({ path });
    const finops = bedrockFinOps({ ledger });
    const simulator = simulatorRequestHandler(new SimulatorEngine());
    let release = (): void => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let waiting = 0;
    const client = new BedrockRuntimeClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      requestHandler: { handle: async (request) => (waiting++, await gate, simulator.handle(request)) } as typeof simulator,
    });
    client.middlewareStack.use(finops);
    const calls = [0, 1, 2].map((i) => client.send(new ConverseCommand({ modelId: 'amazon.nova-micro-v1:0', messages: [{ role: 'user', content: [{ text: `call ${i}` }] }] })));
    while (waiting < 3) await new Promise((r) => setTimeout(r, 1));
    const down = finops.shutdown();
    release();
    await Promise.all(calls);
    await down;
    // Before the fix: no file at all, written 0 and dropped 0 (the records vanished uncounted).
    const { ids } = await requestIds(path);
    expect(ids).toHaveLength(3);
    expect({ written: ledger.written, dropped: ledger.dropped }).toEqual({ written: 3, dropped: 0 });
  });
});

describe('the report CLI', () => {
  it('reports every record a second process appended after the first died mid-line', () => {
    // Written: process A's record and half of another (killed mid-write); process B then appends 3.
    const path = join(dir, 'died.jsonl');
    const line = storedLine(usageRecord({ startedAt: T0, requestId: 'a', costUsd: 1, attribution: { team: 'a' } }));
    writeFileSync(path, `${line}\n${line}\n`);
    truncateSync(path, line.length + 1 + 50);
    const child = join(dir, 'append-child.mts');
    writeFileSync(
      child,
      `import { jsonlLedger } from ${JSON.stringify(join(root, 'src/ledger/index.ts'))};
import { usageRecord } from ${JSON.stringify(join(root, 'test/helpers/usage-records.ts'))};
const ledger = jsonlLedger({ path: ${JSON.stringify(path)} });
for (let i = 0; i < 3; i++) ledger.write(usageRecord({ startedAt: ${T0} + i, requestId: 'b-' + i, costUsd: 1, attribution: { team: 'b' } }));
await ledger.close();
`,
    );
    expect(spawnSync(tsx, [child], { encoding: 'utf8', timeout: 60_000 }).status).toBe(0);
    // Reported: 4 calls, $4 (team b: 3 calls), one torn line skipped. Before: 3 calls, b's first record lost in the torn line.
    // The torn line is the dead process's lost record: the report says so and exits 3 (partial input).
    const r = cli('report', path, '--by', 'team', '--json');
    expect(r.status).toBe(3);
    expect(r.stderr).toContain(`${path}: 1 torn lines (50 bytes) not counted`);
    const report = JSON.parse(r.stdout) as { totals: { calls: number; costUsd: number }; breakdowns: { rows: { key: string; calls: number }[] }[] };
    expect(report.totals).toMatchObject({ calls: 4, costUsd: 4 });
    expect(report.breakdowns[0]?.rows.map((x) => [x.key, x.calls])).toEqual([['b', 3], ['a', 1]]);
    expect(r.stderr).toContain('skipped 1 unreadable ledger lines (1 torn, 0 with wrong field types)');
  });

  it('says on stderr when a --by attribution key is on no call (a typo), and exits 0 with the report', () => {
    const path = join(dir, 'typo.jsonl');
    writeFileSync(path, `${storedLine(usageRecord({ startedAt: T0, attribution: { team: 'a' }, costUsd: 1 }))}\n`);
    const r = cli('report', path, '--by', 'taem', '--by', 'team,day');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Cost and tokens by taem');
    // Before: nothing said; the table was one "(none)" row.
    expect(r.stderr).toContain('--by taem: no call has the attribution key taem (a typo?)');
    expect(r.stderr).not.toContain('--by team');
  });

  it('--since 2026-02-30 is a usage error (exit 2), not a window from March 2', () => {
    const path = join(dir, 'dates.jsonl');
    writeFileSync(path, `${storedLine(usageRecord({ startedAt: Date.UTC(2026, 2, 1), costUsd: 1 }))}\n`);
    const r = cli('report', path, '--since', '2026-02-30');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--since 2026-02-30: not a valid date');
    expect(r.stdout).toBe('');
  });
});
