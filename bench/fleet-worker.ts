/**
 * One process of `bench/fleet.ts`: calls through a real BedrockRuntimeClient (answered in-process
 * by the simulator) against a budget kept in a shared Redis, with either store design, then
 * shuts down and prints what it saw as one JSON line. The spec is JSON in argv[2].
 */
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { Redis } from 'ioredis';
import type { BudgetStore } from '../src/budgets/index.js';
import { RedisBudgetStore, type IoRedisLike } from '../src/budgets/redis/index.js';
import { bedrockFinOps } from '../src/index.js';
import { callPool } from '../test/helpers/call-pool.js';
import { SimulatorEngine, simulatorRequestHandler, tokensOfText } from '../src/testing/index.js';
import { PerCallRedisBudgetStore } from './legacy/redis-budget-store.js';
import { percentile } from './stats.js';

export type Design = 'per-call' | 'leased';

export interface BenchWorkerSpec {
  readonly design: Design;
  readonly url: string;
  readonly prefix: string;
  readonly limit: number;
  readonly calls: number;
  readonly concurrency: number;
  readonly onStoreError: 'allow' | 'deny';
  readonly text: string;
  readonly maxTokens: number;
  /** Reserve this fraction more than the exact input tokens (estimates ≥ actual). */
  readonly overEstimate: number;
  readonly latencyMs: number;
  readonly startAt: number;
}

export interface BenchWorkerResult {
  readonly admitted: number;
  readonly refused: number;
  readonly unavailable: number;
  readonly errors: number;
  readonly tokens: number;
  readonly admissionP50Ms: number;
  readonly admissionP99Ms: number;
  /** p99 once the first `concurrency` calls (which wait for the first slice) are admitted. */
  readonly steadyP99Ms: number;
  readonly wallMs: number;
  readonly events: Record<string, number>;
}

/** Times `reserve` as admission sees it (a synchronous answer costs only the local work). */
export function timedStore(store: BudgetStore, samples: number[]): BudgetStore {
  return {
    reserve(request) {
      const t0 = performance.now();
      const out = store.reserve(request);
      if (!(out instanceof Promise)) {
        samples.push(performance.now() - t0);
        return out;
      }
      return out.finally(() => samples.push(performance.now() - t0));
    },
    commit: (request) => store.commit(request),
    read: (counters, now) => store.read(counters, now),
    close: () => store.close?.() ?? Promise.resolve(),
  };
}

export function makeStore(design: Design, client: IoRedisLike, prefix: string): BudgetStore & { stats(): { events: Record<string, number> } } {
  return design === 'leased' ? new RedisBudgetStore({ client, keyPrefix: prefix }) : new PerCallRedisBudgetStore({ client, keyPrefix: `${prefix}{b}:` });
}

if (process.argv[1]?.endsWith('fleet-worker.ts')) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as BenchWorkerSpec;
  const client = new Redis(spec.url, { maxRetriesPerRequest: null });
  client.on('error', () => undefined);
  const store = makeStore(spec.design, client, spec.prefix);
  const samples: number[] = [];
  const input = tokensOfText(spec.text) + 3;
  const finops = bedrockFinOps({
    budgetStore: timedStore(store, samples),
    onStoreError: spec.onStoreError,
    estimator: () => Math.ceil(input * (1 + spec.overEstimate)),
    budgets: [{ name: 'shared', limit: { tokens: spec.limit }, window: 'day' }],
  });
  const bedrock = new BedrockRuntimeClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, requestHandler: simulatorRequestHandler(new SimulatorEngine({ latencyMs: spec.latencyMs })) });
  bedrock.middlewareStack.use(finops);
  const command = new ConverseCommand({ modelId: 'amazon.nova-micro-v1:0', messages: [{ role: 'user', content: [{ text: spec.text }] }], inferenceConfig: { maxTokens: spec.maxTokens } });
  await new Promise((r) => setTimeout(r, Math.max(0, spec.startAt - Date.now())));
  const t0 = performance.now();
  const r = await callPool(spec.calls, spec.concurrency, () => bedrock.send(command));
  const wallMs = performance.now() - t0;
  await finops.shutdown();
  await store.close?.();
  const result: BenchWorkerResult = { ...r, admissionP50Ms: percentile(samples, 50), admissionP99Ms: percentile(samples, 99), steadyP99Ms: percentile(samples.slice(spec.concurrency), 99), wallMs, events: store.stats().events };
  // The scenario may have killed or restarted the server under the worker: a quit that finds the
  // connection closed is the end of it, not a failed run.
  await client.quit().catch(() => {
    client.disconnect();
  });
  console.log(JSON.stringify(result));
}
