/**
 * One of the processes of the multi-process budget test: 250 concurrent calls through a real
 * BedrockRuntimeClient (answered in-process by the simulator engine) against a budget kept in
 * a shared redis-server. Prints what it saw as one JSON line.
 */
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { Redis } from 'ioredis';
import { bedrockFinOps, isBudgetExceededError } from '../../src/index.js';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import { SimulatorEngine, simulatorRequestHandler, tokensOfText } from '../../src/testing/index.js';

const [url = '', limit = '0', prefix = 'mp:{b}:'] = process.argv.slice(2);
const client = new Redis(url);
client.on('error', (e: unknown) => console.error(e));
// A generous timeout: under a loaded CI machine a slow answer must not count as an outage here.
const store = new RedisBudgetStore({ client, keyPrefix: prefix, timeoutMs: 30_000 });
const TEXT = 'hello world';
// Exact: the simulator bills ceil(chars / 4) + 3 per message for input, and min(maxTokens, 64) for output.
const finops = bedrockFinOps({
  budgetStore: store,
  onStoreError: 'deny',
  estimator: () => tokensOfText(TEXT) + 3,
  budgets: [{ name: 'shared', limit: { tokens: Number(limit) }, window: 'day' }],
});
const bedrock = new BedrockRuntimeClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  requestHandler: simulatorRequestHandler(new SimulatorEngine()),
});
bedrock.middlewareStack.use(finops);

const results = await Promise.allSettled(
  Array.from({ length: 250 }, () =>
    bedrock.send(new ConverseCommand({ modelId: 'amazon.nova-micro-v1:0', messages: [{ role: 'user', content: [{ text: TEXT }] }], inferenceConfig: { maxTokens: 10 } })),
  ),
);
const admitted = results.filter((r) => r.status === 'fulfilled').length;
const rejected = results.filter((r) => r.status === 'rejected' && isBudgetExceededError(r.reason)).length;
for (const r of results) if (r.status === 'rejected' && !isBudgetExceededError(r.reason)) console.error(r.reason);
const tokens = results.reduce((sum, r) => sum + (r.status === 'fulfilled' ? (r.value.usage?.totalTokens ?? 0) : 0), 0);
await finops.shutdown();
await client.quit();
console.log(JSON.stringify({ admitted, rejected, tokens }));
