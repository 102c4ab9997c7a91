import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedrockFinOps, isBudgetExceededError, type BedrockFinOpsOptions } from '../../src/index.js';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import { SimulatorEngine, simulatorRequestHandler, tokensOfText } from '../../src/testing/index.js';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/processes.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
let server: RedisServer;

beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server.stop();
});

const TEXT = 'hello world';
const PER_CALL = tokensOfText(TEXT) + 3 + 10;

describe('budgets shared through Redis', () => {
  it('holds across 4 processes × 250 concurrent calls: exact totals, no overshoot', async () => {
    const fits = 500;
    const limit = PER_CALL * fits + PER_CALL - 1;
    const outputs = await Promise.all(
      Array.from({ length: 4 }, () =>
        run(join(root, 'node_modules/.bin/tsx'), [join(root, 'test/redis/worker.ts'), server.url, String(limit), 'mp:{b}:'], {
          cwd: root,
          env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
          timeout: 120_000,
        }),
      ),
    );
    const results = outputs.map((o) => JSON.parse(o.stdout.trim().split('\n').pop()!) as { admitted: number; rejected: number; tokens: number });
    expect(outputs.map((o) => o.stderr.trim())).toEqual(['', '', '', '']);
    const admitted = results.reduce((s, r) => s + r.admitted, 0);
    const rejected = results.reduce((s, r) => s + r.rejected, 0);
    expect(admitted).toBe(fits);
    expect(rejected).toBe(1000 - fits);
    expect(results.reduce((s, r) => s + r.tokens, 0)).toBe(fits * PER_CALL);
    const client = new Redis(server.url);
    try {
      // Any process sees the shared counter through the public API.
      const observer = bedrockFinOps({ budgetStore: new RedisBudgetStore({ client, keyPrefix: 'mp:{b}:' }), budgets: [{ name: 'shared', limit: { tokens: limit }, window: 'day' }] });
      const [status] = await observer.budgets.status();
      expect(status).toMatchObject({ used: { tokens: fits * PER_CALL }, reserved: { tokens: 0 } });
    } finally {
      await client.quit();
    }
  }, 180_000);

  async function outageRun(onStoreError: 'allow' | 'deny', prefix: string) {
    const redis = new Redis(server.url, { maxRetriesPerRequest: null });
    redis.on('error', () => undefined);
    const store = new RedisBudgetStore({ client: redis, keyPrefix: prefix, timeoutMs: 150, breakerFailures: 2, breakerCooldownMs: 300, replayIntervalMs: 100 });
    const options: BedrockFinOpsOptions = {
      budgetStore: store,
      onStoreError,
      estimator: () => tokensOfText(TEXT) + 3,
      budgets: [{ name: 'outage', limit: { tokens: 1_000_000 }, window: 'day' }],
    };
    const finops = bedrockFinOps(options);
    const bedrock = new BedrockRuntimeClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, requestHandler: simulatorRequestHandler(new SimulatorEngine()) });
    bedrock.middlewareStack.use(finops);
    const call = () => bedrock.send(new ConverseCommand({ modelId: 'amazon.nova-micro-v1:0', messages: [{ role: 'user', content: [{ text: TEXT }] }], inferenceConfig: { maxTokens: 10 } }));
    return { store, finops, call, redis };
  }

  it("onStoreError 'allow': calls go on during an outage, their usage is buffered and replayed, totals exact", async () => {
    const { store, finops, call, redis } = await outageRun('allow', 'outage-allow:{o}:');
    for (let i = 0; i < 10; i++) await call();
    await server.kill();
    const during = await Promise.allSettled(Array.from({ length: 20 }, () => call()));
    expect(during.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(store.pendingCommits).toBeGreaterThan(0);
    await server.restart();
    await waitFor('buffered commits to be replayed', async () => (store.pendingCommits === 0 ? true : undefined), 30_000, 100);
    for (let i = 0; i < 5; i++) await call();
    const [status] = await finops.budgets.status();
    expect(status).toMatchObject({ used: { tokens: 35 * PER_CALL } });
    expect(store.stats()).toMatchObject({ dropped: 0 });
    expect(store.stats().replayed).toBeGreaterThan(0);
    await finops.shutdown();
    await redis.quit();
  }, 60_000);

  it("onStoreError 'deny': calls are rejected before sending while the store is down, and admitted again after", async () => {
    const { finops, call, redis } = await outageRun('deny', 'outage-deny:{o}:');
    await call();
    await server.kill();
    const during = await Promise.allSettled(Array.from({ length: 5 }, () => call()));
    expect(during.every((r) => r.status === 'rejected' && isBudgetExceededError(r.reason))).toBe(true);
    await server.restart();
    await waitFor('the store to admit calls again', async () => ((await call().then(() => true, () => false)) ? true : undefined), 30_000, 200);
    await finops.shutdown();
    await redis.quit();
  }, 60_000);
});
