/**
 * `npm run bench`: what the plugin costs per call, next to the bare client, in one process.
 * `npm run bench -- --smoke` runs every section briefly (CI keeps it from rotting; no timing is asserted).
 * A full run writes bench/RESULTS.md.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cpus, totalmem } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand, InvokeModelCommand } from '@aws-sdk/client-bedrock-runtime';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import type { HandlerExecutionContext } from '@smithy/types';
import { Redis } from 'ioredis';
import { bedrockFinOps, withAttribution, type BedrockFinOps } from '../src/index.js';
import { MemoryBudgetStore, type ReservationEntry } from '../src/budgets/index.js';
import { RedisBudgetStore } from '../src/budgets/redis/index.js';
import { FINOPS_MIDDLEWARE } from '../src/middleware.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { cannedHandler, CONVERSE, converseStream, INVOKE, type Canned } from './canned-handler.js';
import { fmt, median, percentile } from './stats.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const exec = promisify(execFile);
const smoke = process.argv.includes('--smoke');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const section = (name: string): boolean => only === undefined || only === name;
const out: string[] = [];
const log = (line = ''): void => {
  console.log(line);
  out.push(line);
};

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function fullPlugin(): BedrockFinOps {
  const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 60_000 });
  return bedrockFinOps({
    meterProvider: new MeterProvider({ readers: [reader] }),
    attribution: { team: 'bench' },
    budgets: [{ name: 'bench-daily', limit: { tokens: 1e15, costUsd: 1e9 }, window: 'day' }],
  });
}

type Handler = (args: { input: unknown }) => Promise<unknown>;

/** The plugin's middleware around an in-process next() that answers like Converse: the plugin's work without the SDK's. */
function pluginHandler(plugin: BedrockFinOps): Handler {
  let mw: ((next: Handler, ctx: HandlerExecutionContext) => Handler) | undefined;
  plugin.applyToStack({
    add: (m: typeof mw, o: { name: string }) => {
      if (o.name === FINOPS_MIDDLEWARE.name) mw = m;
    },
  } as never);
  if (mw === undefined) throw new Error('the plugin added no metering middleware');
  const output = { output: { usage: { inputTokens: 120, outputTokens: 48, totalTokens: 168 }, $metadata: {} }, response: { statusCode: 200, headers: {} } };
  const context = { commandName: 'ConverseCommand', endpointV2: { url: new URL('https://bedrock-runtime.us-east-1.amazonaws.com') } } as unknown as HandlerExecutionContext;
  return mw(() => Promise.resolve(output), context);
}

function client(canned: Canned, plugin?: BedrockFinOps): BedrockRuntimeClient {
  const c = new BedrockRuntimeClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, requestHandler: cannedHandler(canned) });
  if (plugin !== undefined) c.middlewareStack.use(plugin);
  return c;
}

const messages = [{ role: 'user' as const, content: [{ text: 'Summarize the quarterly report in three bullet points.' }] }];
const converse = new ConverseCommand({ modelId: 'us.anthropic.claude-3-5-haiku-20241022-v1:0', messages, inferenceConfig: { maxTokens: 256 } });
const invokeBody = new TextEncoder().encode(JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 256, messages }));

type Op = (c: BedrockRuntimeClient) => Promise<unknown>;
// Interleaved in small blocks (bare, plugin, bare, …) and summarized by the median block, so
// drift and noise on a shared machine hit both sides alike.
const ops: Record<string, { canned: Canned; op: Op; block: number; blocks: number }> = {
  Converse: { canned: CONVERSE, op: (c) => c.send(converse), block: 100, blocks: smoke ? 6 : 200 },
  InvokeModel: { canned: INVOKE, op: (c) => c.send(new InvokeModelCommand({ modelId: 'anthropic.claude-3-5-haiku-20241022-v1:0', body: invokeBody })), block: 100, blocks: smoke ? 6 : 200 },
  'ConverseStream (1,000 events, drained)': {
    canned: converseStream(1_000),
    op: async (c) => {
      const s = await c.send(new ConverseStreamCommand({ modelId: 'us.anthropic.claude-3-5-haiku-20241022-v1:0', messages }));
      for await (const _ of s.stream ?? []) {
        /* drain */
      }
    },
    block: 2,
    blocks: smoke ? 4 : 150,
  },
};

let tenant = 0;
async function timed(c: BedrockRuntimeClient, op: Op, calls: number, scoped: boolean): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) {
    // The plugin side runs each call in its own attribution scope, as a server does per request.
    if (scoped) await withAttribution({ feature: 'bench', tenant: `t${tenant++ % 100}` }, () => op(c));
    else await op(c);
  }
  return ((performance.now() - t0) * 1000) / calls;
}

log('# bedrock-finops benchmark');
log();
log(`Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${new Date().toISOString().slice(0, 10)}${smoke ? ' (smoke run)' : ''}`);
log();
if (section('overhead')) {
log('## Per-call overhead (in-process request handler, no network; interleaved rounds, medians)');
log();
log('| Operation | bare client µs/call | with plugin µs/call | ratio | target |');
log('|---|---|---|---|---|');
for (const [name, { canned, op, block, blocks }] of Object.entries(ops)) {
  const bare = client(canned);
  const metered = client(canned, fullPlugin());
  await timed(bare, op, block * 10, false);
  await timed(metered, op, block * 10, true);
  const b: number[] = [];
  const p: number[] = [];
  for (let r = 0; r < blocks; r++) {
    if (r % 2 === 0) {
      b.push(await timed(bare, op, block, false));
      p.push(await timed(metered, op, block, true));
    } else {
      p.push(await timed(metered, op, block, true));
      b.push(await timed(bare, op, block, false));
    }
  }
  const ratio = median(p) / median(b);
  log(`| ${name} | ${fmt(median(b))} | ${fmt(median(p))} | ${fmt(ratio, 3)}× | ${name.startsWith('ConverseStream') ? '≤ 1.03×' : '≤ 1.05×'} |`);
}
log();
log('The plugin side: attribution scope per call, SDK MeterProvider (3 histograms + FinOps counters), pricing, one budget on the memory store.');
log();
{
  // The same Converse loop in fresh processes, alternating variants: no code shared between them.
  const runs = smoke ? 1 : 5;
  const calls = smoke ? 300 : 5_000;
  const results: Record<string, number[]> = { bare: [], plugin: [], 'plugin+scope': [], 'plugin-no-histograms': [] };
  for (let r = 0; r < runs; r++)
    for (const variant of Object.keys(results)) {
      const { stdout } = await exec(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./child.ts', import.meta.url)), variant, String(calls)]);
      results[variant]?.push(Number(stdout.trim()));
    }
  const bareMedian = median(results.bare ?? []);
  log(
    `Fresh processes (Converse, ${runs} alternating runs of ${calls.toLocaleString('en-US')} calls each, medians): bare ${fmt(bareMedian)} µs, plugin without a per-call scope ${fmt(median(results.plugin ?? []))} µs (${fmt(median(results.plugin ?? []) / bareMedian, 3)}×), plugin with a scope per call ${fmt(median(results['plugin+scope'] ?? []))} µs (${fmt(median(results['plugin+scope'] ?? []) / bareMedian, 3)}×), plugin with \`genAiHistograms: false\` ${fmt(median(results['plugin-no-histograms'] ?? []))} µs (${fmt(median(results['plugin-no-histograms'] ?? []) / bareMedian, 3)}×).`,
  );
}
log();
{
  // The plugin's own work, without the SDK around it: its middleware with an in-process next().
  const plugin = fullPlugin();
  const handler = pluginHandler(plugin);
  const input = { modelId: 'us.anthropic.claude-3-5-haiku-20241022-v1:0', messages, inferenceConfig: { maxTokens: 256 } };
  const blocks: number[] = [];
  const n = smoke ? 2_000 : 20_000;
  for (let r = 0; r < (smoke ? 3 : 30); r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await withAttribution({ feature: 'bench', tenant: `t${i % 100}` }, () => handler({ input }));
    blocks.push(((performance.now() - t0) * 1000) / n);
  }
  log(`The plugin's own work per call, measured alone (its middleware around an in-process next(), same configuration, scope included): **${fmt(median(blocks))} µs**.`);
}
}

if (section('stores')) {
log();
log('## Budget stores');
log();
const memory = new MemoryBudgetStore();
const entry: ReservationEntry = { key: 'bench', budget: 'bench', limits: { tokens: 1e15 }, amounts: { tokens: 300, inputTokens: 200, outputTokens: 100, nanoUsd: 1_000_000 }, enforce: true, windowEnd: Date.now() + 86_400_000 };
const pairs = smoke ? 20_000 : 1_000_000;
{
  const t0 = performance.now();
  for (let i = 0; i < pairs; i++) {
    const id = `m${i}`;
    const now = Date.now();
    memory.reserve({ id, entries: [entry], now, leaseMs: 60_000 });
    memory.commit({ id, entries: [{ key: 'bench', budget: 'bench', actual: entry.amounts, windowEnd: entry.windowEnd }], now });
  }
  const perSec = pairs / ((performance.now() - t0) / 1000);
  log(`- In-memory: **${Math.round(perSec).toLocaleString('en-US')} reserve+commit pairs per second** (${pairs.toLocaleString('en-US')} pairs; target ≥ 1,000,000).`);
}

const redisServer = await startRedis();
try {
  // The leasing store: admission is answered from this process's slice (no round trip far from
  // the limit), commits are applied locally and flushed in batches. Fleet numbers: bench/fleet.ts.
  const redis = new Redis(redisServer.url);
  const store = new RedisBudgetStore({ client: redis, keyPrefix: 'bench:' });
  const total = smoke ? 2_000 : 200_000;
  const concurrency = 32;
  const reserveLat: number[] = [];
  const commitLat: number[] = [];
  let next = 0;
  const commit = (id: string, now: number) => store.commit({ id, entries: [{ key: 'bench', budget: 'bench', actual: entry.amounts, windowEnd: entry.windowEnd }], now });
  const worker = async (): Promise<void> => {
    while (next < total) {
      const id = `r${next++}`;
      const now = Date.now();
      let t = performance.now();
      const reserved = store.reserve({ id, entries: [entry], now, leaseMs: 60_000 });
      if (reserved instanceof Promise) await reserved;
      reserveLat.push(performance.now() - t);
      t = performance.now();
      commit(id, now);
      commitLat.push(performance.now() - t);
      // Yield as a real call would (its request goes out between admission and commit).
      if (next % 8 === 0) await new Promise((r) => setImmediate(r));
    }
  };
  // Round-trip latency of one script (a budget read), one at a time.
  const serial: number[] = [];
  for (let i = 0; i < (smoke ? 200 : 5_000); i++) {
    const t = performance.now();
    await store.read([{ key: 'bench', budget: 'bench' }], Date.now());
    serial.push(performance.now() - t);
  }
  log(`- Redis, one script round trip at a time (a budget read): p50 ${fmt(percentile(serial, 50), 3)} ms / p99 ${fmt(percentile(serial, 99), 3)} ms.`);
  const scriptsBefore = (await redis.info('commandstats')).match(/^cmdstat_evalsha:calls=(\d+)/m)?.[1];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const scriptsAfter = (await redis.info('commandstats')).match(/^cmdstat_evalsha:calls=(\d+)/m)?.[1];
  log(
    `- Redis (leased slices; redis-server 7.x on loopback, ioredis, concurrency ${concurrency}, ${total.toLocaleString('en-US')} pairs, far from the limit): reserve p50 ${fmt(percentile(reserveLat, 50) * 1000, 1)} µs / p99 ${fmt(percentile(reserveLat, 99) * 1000, 1)} µs, commit p50 ${fmt(percentile(commitLat, 50) * 1000, 1)} µs / p99 ${fmt(percentile(commitLat, 99) * 1000, 1)} µs, **${Math.round(total / seconds).toLocaleString('en-US')} pairs per second**, ${Number(scriptsAfter) - Number(scriptsBefore)} scripts in all (target p99 < 1 ms). Fleet numbers (4 processes, faults, the old per-call design beside): below.`,
  );
  await store.close();
  await redis.quit();
} finally {
  await redisServer.stop();
}
}

if (section('fleet')) {
  log();
  // bench/fleet.ts prints its own markdown section; kept between markers so it can be rerun alone.
  const { stdout } = await exec(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fleet.ts', import.meta.url)), '--no-write', ...(smoke ? ['--smoke'] : [])], { maxBuffer: 2 ** 24, timeout: 1_800_000 });
  log('<!-- fleet:begin -->');
  for (const line of stdout.trimEnd().split('\n')) log(line);
  log('<!-- fleet:end -->');
}

if (section('memory')) {
log();
log('## Memory under tenant churn');
log();
  // 1,000,000 calls through the plugin's middleware (the SDK replaced by an in-process next())
  // over 10,000 distinct tenants: the cardinality guard must keep the plugin's state bounded.
  const calls = smoke ? 50_000 : 1_000_000;
  const plugin = fullPlugin();
  type Handler = (args: { input: unknown }) => Promise<unknown>;
  let mw: ((next: Handler, ctx: HandlerExecutionContext) => Handler) | undefined;
  plugin.applyToStack({
    add: (m: typeof mw, o: { name: string }) => {
      if (o.name === FINOPS_MIDDLEWARE.name) mw = m;
    },
  } as never);
  const output = { output: { usage: { inputTokens: 120, outputTokens: 48, totalTokens: 168 }, $metadata: {} }, response: { statusCode: 200, headers: {} } };
  const handler = mw!(() => Promise.resolve(output), { commandName: 'ConverseCommand' });
  const input = { modelId: 'us.amazon.nova-lite-v1:0', messages, inferenceConfig: { maxTokens: 100 } };
  const heap = (): number => {
    gc();
    return process.memoryUsage().heapUsed / 2 ** 20;
  };
  const points: string[] = [];
  const base = heap();
  for (let i = 0; i < calls; i++) {
    await withAttribution({ tenant: `tenant-${i % 10_000}` }, () => handler({ input }));
    if ((i + 1) % (calls / 4) === 0) points.push(`${((i + 1) / 1000).toLocaleString('en-US')}k: ${fmt(heap() - base)} MB`);
  }
  log(`Heap growth over ${calls.toLocaleString('en-US')} calls spread over 10,000 tenants (100 reach metrics, the rest are \`_OTHER\`), after GC: ${points.join(', ')}.`);
}

if (!smoke && only === undefined) {
  writeFileSync(new URL('./RESULTS.md', import.meta.url), `${out.join('\n')}\n`);
  console.log('\nwritten to bench/RESULTS.md');
}
