/**
 * Fleet budgets on Redis: the leased-slice store beside the old per-call design (`bench/legacy/`),
 * with 4 Node processes and a real redis-server on loopback. Prints a markdown section and, on a
 * full run, writes it into bench/RESULTS.md (between the `fleet` markers). `--smoke` runs each
 * scenario tiny (CI keeps it from rotting; nothing is asserted). `npm run bench` runs it too.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../test/helpers/redis-server.js';
import type { BenchWorkerResult, BenchWorkerSpec, Design } from './fleet-worker.js';
import { sequentialCalls, stalledLoop } from './fleet-inprocess.js';
import { fmt } from './stats.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const exec = promisify(execFile);
const smoke = process.argv.includes('--smoke');
const DESIGNS: readonly Design[] = ['per-call', 'leased'];
const NAME: Record<Design, string> = { 'per-call': 'per-call (old)', leased: 'leased slices (new)' };
/** ~200 tokens per call: 760 characters bill 193 input tokens, plus 10 output. */
const TEXT = 'Summarize the quarterly report. '.repeat(24).slice(0, 760);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const sum = (rs: readonly BenchWorkerResult[], f: (r: BenchWorkerResult) => number): number => rs.reduce((s, r) => s + f(r), 0);

let runId = 0;

function worker(spec: BenchWorkerSpec): Promise<BenchWorkerResult> {
  return exec(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fleet-worker.ts', import.meta.url)), JSON.stringify(spec)], { maxBuffer: 2 ** 24, timeout: 300_000 }).then(
    ({ stdout }) => JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as BenchWorkerResult,
  );
}

type Scenario = Omit<BenchWorkerSpec, 'design' | 'url' | 'prefix' | 'startAt' | 'text' | 'maxTokens' | 'overEstimate' | 'latencyMs'> & Partial<Pick<BenchWorkerSpec, 'overEstimate' | 'latencyMs'>>;

/** 4 workers of one design, started together; `during` runs while they do (faults). */
async function fleet(design: Design, scenario: Scenario, during?: (startAt: number) => Promise<void>): Promise<{ results: BenchWorkerResult[]; prefix: string }> {
  const prefix = `${design}-${++runId}:`;
  const startAt = Date.now() + 4_000;
  const spec: BenchWorkerSpec = { design, url: server.url, prefix, startAt, text: TEXT, maxTokens: 10, overEstimate: 0, latencyMs: 0, ...scenario };
  const running = Promise.all(Array.from({ length: smoke ? 2 : 4 }, () => worker(spec)));
  await during?.(startAt);
  return { results: await running, prefix };
}

/** Redis's view of the budget: committed and reserved/leased tokens, and the bytes its keys take. */
async function inRedis(design: Design, prefix: string): Promise<{ used: number; held: number; bytes: number }> {
  const redis = new Redis(server.url);
  // A server killed or stopped by the scenario: its errors are the scenario's, not unhandled events.
  redis.on('error', () => undefined);
  try {
    const pattern = design === 'leased' ? `${prefix}{shared}:c:*` : `${prefix}{b}:c:*`;
    let used = 0;
    let held = 0;
    for (const key of await redis.keys(pattern)) {
      const [u, h] = await redis.hmget(key, 'u_t', design === 'leased' ? 'l_t' : 'r_t');
      used += Number(u ?? 0);
      held += Number(h ?? 0);
    }
    let bytes = 0;
    for (const key of await redis.keys(`${prefix}*`)) bytes += (await redis.memory('USAGE', key)) ?? 0;
    return { used, held, bytes };
  } finally {
    await redis.quit();
  }
}

/** Script calls (EVALSHA + EVAL) and CPU seconds the server has used so far. */
async function serverCounters(): Promise<{ scripts: number; cpu: number }> {
  const redis = new Redis(server.url);
  // A server killed or stopped by the scenario: its errors are the scenario's, not unhandled events.
  redis.on('error', () => undefined);
  try {
    const stats = await redis.info('commandstats');
    const cpu = await redis.info('cpu');
    let scripts = 0;
    for (const m of stats.matchAll(/^cmdstat_(evalsha|eval):calls=(\d+)/gm)) scripts += Number(m[2]);
    const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? 0);
    return { scripts, cpu: field('used_cpu_sys') + field('used_cpu_user') };
  } finally {
    await redis.quit();
  }
}

function cpuHog(): () => void {
  const child = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  return () => child.kill('SIGKILL');
}

const out: string[] = [];
const log = (line = ''): void => {
  console.log(line);
  out.push(line);
};
const table = (rows: readonly (readonly string[])[]): void => {
  log(`| | ${DESIGNS.map((d) => NAME[d]).join(' | ')} | target |`);
  log(`|---|${DESIGNS.map(() => '---').join('|')}|---|`);
  for (const r of rows) log(`| ${r.join(' | ')} |`);
  log();
};

const server: RedisServer = await startRedis();
try {
  log('## Fleet budgets on Redis (4 processes, redis-server on loopback)');
  log();
  log(`Each process: a real BedrockRuntimeClient answered in-process by the simulator, one budget shared through Redis, ${smoke ? 'smoke sizes (2 processes)' : 'default store options'}; the old design is the per-call store (reserve + commit scripts, 250 ms timeout, breaker; \`bench/legacy/\`).`);
  log();
  const scale = smoke ? 0.1 : 1;

  // 1. The race: 4 × 250 concurrent calls on a 100,000-token budget, a CPU hog beside them.
  {
    const limit = 100_000;
    // No arbiter can admit more than ⌊limit / actual⌋ without going over; one that sees the whole
    // burst at once admits ⌊limit / estimate⌋ (calls hold their estimate until they settle).
    const possible = Math.floor(limit / (193 + 10));
    const burst = Math.floor(limit / (Math.ceil(193 * 1.1) + 10));
    const rows: string[][] = [['admitted (of 1,000)'], ['committed tokens (limit 100,000)'], [`admitted / possible (${possible})`], [`admitted / a perfect arbiter of the burst (${burst})`], ['refused: limit / store-unavailable']];
    for (const design of DESIGNS) {
      const stop = cpuHog();
      const { results, prefix } = await fleet(design, { limit, calls: Math.round(250 * scale), concurrency: Math.round(250 * scale), onStoreError: 'allow', overEstimate: 0.1 }).finally(stop);
      const redis = await inRedis(design, prefix);
      rows[0]?.push(String(sum(results, (r) => r.admitted)));
      rows[1]?.push(`${sum(results, (r) => r.tokens).toLocaleString('en-US')} (Redis: ${redis.used.toLocaleString('en-US')})`);
      rows[2]?.push(`${fmt((100 * sum(results, (r) => r.admitted)) / possible)}%`);
      rows[3]?.push(`${fmt((100 * sum(results, (r) => r.admitted)) / burst)}%`);
      rows[4]?.push(`${sum(results, (r) => r.refused)} / ${sum(results, (r) => r.unavailable)}`);
    }
    for (const [i, target] of ['', '≤ limit', '≥ 90%', '', ''].entries()) rows[i]?.push(target);
    log(`### Race: 4 processes × 250 concurrent calls, 100,000-token budget, a CPU hog beside them (\`onStoreError: 'allow'\`, estimates 10% above actual: 223 tokens reserved, 203 used)`);
    log();
    table(rows);
  }

  // 2. Far from the limit: 4 × 2,000 calls at concurrency 50.
  {
    const rows: string[][] = [['refused / store timeouts'], ['script calls per call'], ['Redis CPU per admitted call'], ['admission p50 / p99 (worst process)'], ['admission p99 after each process\'s first 50 calls (worst process)'], ['Redis bytes per call (keys of the budget)'], ['calls per second (fleet)']];
    for (const design of DESIGNS) {
      const before = await serverCounters();
      const { results, prefix } = await fleet(design, { limit: 1e12, calls: Math.round(2_000 * scale), concurrency: 50, onStoreError: 'deny' });
      const after = await serverCounters();
      const admitted = sum(results, (r) => r.admitted);
      const redis = await inRedis(design, prefix);
      rows[0]?.push(`${sum(results, (r) => r.refused + r.unavailable)} / ${sum(results, (r) => r.events.timeouts ?? 0)}`);
      rows[1]?.push(fmt((after.scripts - before.scripts) / admitted, 3));
      rows[2]?.push(`${fmt(((after.cpu - before.cpu) * 1e6) / admitted)} µs`);
      rows[3]?.push(`${fmt(Math.max(...results.map((r) => r.admissionP50Ms)), 3)} / ${fmt(Math.max(...results.map((r) => r.admissionP99Ms)), 3)} ms`);
      rows[4]?.push(`${fmt(Math.max(...results.map((r) => r.steadyP99Ms)), 3)} ms`);
      rows[5]?.push(fmt(redis.bytes / admitted));
      rows[6]?.push(Math.round(admitted / (Math.max(...results.map((r) => r.wallMs)) / 1000)).toLocaleString('en-US'));
    }
    for (const [i, target] of ['0 / 0', '≤ 0.1', '≤ 10 µs', 'p99 < 1 ms', 'p99 < 1 ms', '', ''].entries()) rows[i]?.push(target);
    log('### Far from the limit: 4 processes × 2,000 calls at concurrency 50');
    log();
    table(rows);
  }

  // 3. Faults: Redis paused 2 s, and Redis killed and restarted, mid-traffic ('deny').
  for (const fault of ['pause', 'restart'] as const) {
    const rows: string[][] = [['admitted / refused (store-unavailable)'], ['committed by the processes'], ['in Redis after shutdown: used / still reserved'], ['lost or double-counted']];
    for (const design of DESIGNS) {
      const { results, prefix } = await fleet(design, { limit: 1e9, calls: Math.round(2_000 * scale), concurrency: 10, latencyMs: 20, onStoreError: 'deny' }, async (startAt) => {
        await sleep(startAt - Date.now() + 1_000);
        if (fault === 'pause') {
          server.pause();
          await sleep(2_000);
          server.resume();
        } else {
          await server.kill();
          await sleep(1_000);
          await server.restart();
        }
      });
      const redis = await inRedis(design, prefix);
      const committed = sum(results, (r) => r.tokens);
      rows[0]?.push(`${sum(results, (r) => r.admitted)} / ${sum(results, (r) => r.unavailable)}`);
      rows[1]?.push(committed.toLocaleString('en-US'));
      rows[2]?.push(`${redis.used.toLocaleString('en-US')} / ${redis.held.toLocaleString('en-US')}`);
      rows[3]?.push((redis.used - committed).toLocaleString('en-US'));
    }
    for (const [i, target] of ['', '', 'exact / 0', '0'].entries()) rows[i]?.push(target);
    log(fault === 'pause' ? "### Redis paused 2 s (SIGSTOP/SIGCONT) mid-traffic, `onStoreError: 'deny'`" : "### Redis killed (SIGKILL) and restarted 1 s later mid-traffic (append-only file), `onStoreError: 'deny'`");
    log();
    table(rows);
  }

  // 4. In one process: sequential calls, and a 300 ms event-loop stall with Redis healthy.
  {
    const rows: string[][] = [['10 sequential calls reserving 6,000 and using 110 (limit 10,000): admitted'], ["300 ms event-loop stall, Redis healthy, 2,000 concurrent calls, room for 100 (`'allow'`): admitted / refused limit / refused store-unavailable"]];
    for (const design of DESIGNS) {
      rows[0]?.push(String(await sequentialCalls(design, server.url, `${design}-seq-${++runId}:`)));
      const stall = await stalledLoop(design, server.url, `${design}-stall-${++runId}:`);
      rows[1]?.push(`${stall.admitted} / ${stall.limit} / ${stall.unavailable}`);
    }
    rows[0]?.push('10');
    rows[1]?.push('100 / 1,900 / 0');
    log('### One process: read-your-own-writes and a stalled event loop');
    log();
    table(rows);
  }
  log('Budgets on a Redis Cluster: the old design put every budget in one slot (`{budgets}`); the new one tags keys per budget (tested on a real 3-node cluster: 8 budgets, 8 slots).');
} finally {
  await server.stop();
}

if (!smoke && !process.argv.includes('--no-write')) {
  const file = new URL('./RESULTS.md', import.meta.url);
  const block = `<!-- fleet:begin -->\n${out.join('\n')}\n<!-- fleet:end -->`;
  const current = readFileSync(file, 'utf8');
  const next = /<!-- fleet:begin -->[\s\S]*<!-- fleet:end -->/.test(current) ? current.replace(/<!-- fleet:begin -->[\s\S]*<!-- fleet:end -->/, block) : `${current.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, next);
  console.log('\nwritten to bench/RESULTS.md');
}
