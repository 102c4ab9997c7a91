/**
 * One process of the quota fleet test: a burst of calls through a real BedrockRuntimeClient (over
 * HTTP/1.1 to the simulator the test runs, which enforces the account quota) paced by a quota
 * kept in a shared Redis; then shuts down and prints what it saw as one JSON line. The spec comes
 * as JSON in argv[2] (see {@link QuotaWorkerSpec}).
 */
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Redis } from 'ioredis';
import { bedrockFinOps, isQuotaExceededError, withAttribution } from '../../src/index.js';
import { RedisQuotaStore } from '../../src/quotas/index.js';
import { MAX_TOKENS, PROMPT, SONNET } from '../helpers/quota-burst.js';
import type { QuotaWorkerResult, QuotaWorkerSpec } from './quota-fleet-fixture.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as QuotaWorkerSpec;
const redis = new Redis(spec.redisUrl, { maxRetriesPerRequest: null });
redis.on('error', () => undefined);
const store = new RedisQuotaStore({ client: redis, keyPrefix: spec.prefix, renewIntervalMs: 100, idleReturnMs: 300, sliceTtlMs: 3_000 });
const finops = bedrockFinOps({
  quotaStore: store,
  quotas: [{ name: 'sonnet-tpm', match: { model: 'anthropic.claude-sonnet-4*' }, tokensPerMinute: spec.quota, windowMs: spec.windowMs, onLimit: 'wait', maxWaitMs: 60_000, ...(spec.shares ? { shares: { per: 'team' } } : {}) }],
});
const client = new BedrockRuntimeClient({ region: 'us-east-1', endpoint: spec.simUrl, credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, requestHandler: new NodeHttpHandler(), maxAttempts: 1 });
client.middlewareStack.use(finops);

const startAt = spec.startAt;
if (startAt !== undefined) await new Promise((r) => setTimeout(r, Math.max(0, startAt - Date.now())));
const result: QuotaWorkerResult = { served: 0, refused: 0, throttled: 0, failed: 0, events: {} };
let next = 0;
await Promise.all(
  Array.from({ length: spec.concurrency }, async () => {
    while (next < spec.calls) {
      next++;
      try {
        await withAttribution({ team: spec.team }, () => client.send(new ConverseCommand({ modelId: SONNET, messages: [{ role: 'user', content: [{ text: PROMPT }] }], inferenceConfig: { maxTokens: MAX_TOKENS } })));
        result.served++;
      } catch (e) {
        if (isQuotaExceededError(e)) result.refused++;
        else if ((e as { name?: unknown }).name === 'ThrottlingException') result.throttled++;
        else {
          result.failed++;
          console.error(e);
        }
      }
    }
  }),
);
await finops.shutdown();
result.events = store.stats().events;
await redis.quit();
client.destroy();
console.log(JSON.stringify(result));
