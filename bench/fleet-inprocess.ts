/** The one-process scenarios of `bench/fleet.ts`: sequential calls, and a stalled event loop. */
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { Redis } from 'ioredis';
import { LEASE } from '../src/budgets/redis/scripts.js';
import { bedrockFinOps, isBudgetExceededError, type BedrockFinOpsOptions } from '../src/index.js';
import { SimulatorEngine, simulatorRequestHandler, tokensOfText } from '../src/testing/index.js';
import { makeStore, type Design } from './fleet-worker.js';
import { RESERVE_SHA } from './legacy/scripts.js';

function plugin(options: BedrockFinOpsOptions): (text: string, maxTokens: number) => Promise<unknown> {
  const finops = bedrockFinOps(options);
  const client = new BedrockRuntimeClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, requestHandler: simulatorRequestHandler(new SimulatorEngine()) });
  client.middlewareStack.use(finops);
  return (text, maxTokens) => client.send(new ConverseCommand({ modelId: 'amazon.nova-micro-v1:0', messages: [{ role: 'user', content: [{ text }] }], inferenceConfig: { maxTokens } }));
}

/** 10 sequential calls that each reserve 6,000 tokens and use 110, under a 10,000-token limit: how many are admitted. */
export async function sequentialCalls(design: Design, url: string, prefix: string): Promise<number> {
  const client = new Redis(url);
  // A server killed or stopped by the scenario: its errors are the scenario's, not unhandled events.
  client.on('error', () => undefined);
  const store = makeStore(design, client, prefix);
  const text = 'x'.repeat(388); // 97 + 3 input tokens, 10 output: 110 used
  const call = plugin({ budgetStore: store, onStoreError: 'deny', estimator: () => 5_990, budgets: [{ name: 'seq', limit: { tokens: 10_000 }, window: 'day' }] });
  let admitted = 0;
  for (let i = 0; i < 10; i++) admitted += await call(text, 10).then(() => 1, () => 0);
  await store.close?.();
  await client.quit();
  return admitted;
}

/**
 * 2,000 concurrent calls on a budget with room for 100, `onStoreError: 'allow'`, and the event
 * loop blocked for 300 ms right after the first budget script is sent (Redis healthy): how many
 * are admitted.
 */
export async function stalledLoop(design: Design, url: string, prefix: string): Promise<{ admitted: number; limit: number; unavailable: number }> {
  const redis = new Redis(url);
  // A server killed or stopped by the scenario: its errors are the scenario's, not unhandled events.
  redis.on('error', () => undefined);
  let stalled = false;
  const sha = design === 'leased' ? LEASE.sha : RESERVE_SHA;
  const stalling = {
    eval: (script: string, numKeys: number, ...rest: (string | number)[]) => redis.eval(script, numKeys, ...rest),
    evalsha: (s: string, numKeys: number, ...rest: (string | number)[]) => {
      const reply = redis.evalsha(s, numKeys, ...rest);
      if (s === sha && !stalled) {
        stalled = true;
        const until = performance.now() + 300;
        while (performance.now() < until);
      }
      return reply;
    },
  };
  const store = makeStore(design, stalling, prefix);
  const perCall = tokensOfText('hello world') + 3 + 10;
  const call = plugin({ budgetStore: store, onStoreError: 'allow', estimator: () => perCall - 10, budgets: [{ name: 'stall', limit: { tokens: 100 * perCall }, window: 'day' }] });
  const results = await Promise.allSettled(Array.from({ length: 2_000 }, () => call('hello world', 10)));
  await store.close?.();
  await redis.quit();
  const reasons = results.map((r) => (r.status === 'fulfilled' ? 'admitted' : isBudgetExceededError(r.reason) ? r.reason.reason : 'error'));
  return { admitted: reasons.filter((r) => r === 'admitted').length, limit: reasons.filter((r) => r === 'limit').length, unavailable: reasons.filter((r) => r === 'store-unavailable').length };
}
