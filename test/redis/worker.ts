/**
 * One process of the fleet tests: calls through a real BedrockRuntimeClient (answered in-process
 * by the simulator engine) against budgets kept in a shared Redis, then shuts down and prints
 * what it saw as one JSON line. The spec comes as JSON in argv[2] (see {@link WorkerSpec}).
 *
 * Mode `hold` makes one call (so the process leases a slice), prints `{"ready":true}` and waits
 * to be killed.
 */
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { Redis } from 'ioredis';
import { bedrockFinOps } from '../../src/index.js';
import { callPool } from '../helpers/call-pool.js';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import { SimulatorEngine, simulatorRequestHandler, tokensOfText } from '../../src/testing/index.js';
import { WORKER_MAX_TOKENS, WORKER_TEXT, type WorkerResult, type WorkerSpec } from './fleet-fixture.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as WorkerSpec;
const client = new Redis(spec.url, { maxRetriesPerRequest: null });
client.on('error', () => undefined);
const store = new RedisBudgetStore({ client, keyPrefix: spec.prefix, ...spec.store });
const finops = bedrockFinOps({
  budgetStore: store,
  onStoreError: spec.onStoreError,
  estimator: () => tokensOfText(WORKER_TEXT) + 3 + (spec.overEstimate ?? 0),
  budgets: [{ name: 'shared', limit: { tokens: spec.limit }, window: 'day' }],
});
const bedrock = new BedrockRuntimeClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  requestHandler: simulatorRequestHandler(new SimulatorEngine({ latencyMs: spec.latencyMs ?? 0 })),
});
bedrock.middlewareStack.use(finops);
const call = () => bedrock.send(new ConverseCommand({ modelId: 'amazon.nova-micro-v1:0', messages: [{ role: 'user', content: [{ text: WORKER_TEXT }] }], inferenceConfig: { maxTokens: WORKER_MAX_TOKENS } }));

if (spec.mode === 'hold') {
  await call();
  console.log(JSON.stringify({ ready: true }));
  await new Promise(() => undefined);
}

if (spec.startAt !== undefined) await new Promise((r) => setTimeout(r, Math.max(0, spec.startAt! - Date.now())));
const { admitted, refused, unavailable, errors, tokens } = await callPool(spec.calls, spec.concurrency, call, (e) => console.error(e));
await finops.shutdown();
const report = await store.close();
const result: WorkerResult = { admitted, refused, unavailable, errors, tokens, stats: store.stats(), complete: report.complete };
await client.quit();
console.log(JSON.stringify(result));
