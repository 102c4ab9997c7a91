import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisQuotaStore } from '../../src/quotas/index.js';
import { burst, burstCall, GOVERNOR_NEED, quotaClient, quotaSimulator, sleep } from '../helpers/quota-burst.js';
import { waitFor } from '../helpers/processes.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

// The quota store's `stats().unavailable` says what is true now, as the budget store's does
// (test/redis/stats-truth.test.ts): 1 while Redis does not answer, 0 soon after it does, also in a
// process whose calls have stopped. Before: a call during a pause (SIGSTOP) marked Redis
// unreachable, its idle slice was dropped, and nothing asked Redis again: after SIGCONT the store
// reported an outage for as long as the process stayed idle.

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server.stop();
});

describe('RedisQuotaStore stats().unavailable tells the truth about now', () => {
  it('an idle process whose call met a paused Redis reports it reachable again after SIGCONT, and unreachable while it is paused', async () => {
    const client = new Redis(server.url, { maxRetriesPerRequest: null, commandTimeout: 150 });
    client.on('error', () => undefined);
    const store = new RedisQuotaStore({ client, keyPrefix: 'qtruth:', storeTimeoutMs: 100, renewIntervalMs: 50, idleReturnMs: 100 });
    const quota = GOVERNOR_NEED * 10;
    const engine = quotaSimulator(quota, 1_000);
    const { client: bedrock, finops, records } = quotaClient(engine, { quotaStore: store, quotas: [{ name: 'truth', match: { model: 'anthropic.claude-sonnet-4*' }, tokensPerMinute: quota, windowMs: 1_000, onLimit: 'wait', maxWaitMs: 2_000 }] });
    let roundTrips = 0;
    try {
      expect(store.stats().unavailable).toBe(false);
      server.pause();
      try {
        // The call's lease script goes unanswered past storeTimeoutMs: the call goes on without a
        // quota check (Bedrock stays the limit), served once, and Redis is marked unreachable.
        expect(await burst(1, () => burstCall(bedrock))).toEqual({ served: 1, refused: 0, throttled: 0, failed: 0 });
        await waitFor('the unanswered script to mark Redis unreachable', async () => (store.stats().unavailable ? true : undefined), 5_000, 10);
        // Still paused for several renewal ticks: whatever asks goes unanswered, so it stays unreachable.
        await sleep(400);
        expect(store.stats().unavailable).toBe(true);
        roundTrips = store.stats().events.round_trips ?? 0;
      } finally {
        server.resume();
      }
      // No more calls. Before: still true 10 s later (nothing asked Redis).
      await waitFor('the store to report Redis reachable', async () => (store.stats().unavailable ? undefined : true), 10_000, 20);
      expect(store.stats().events.timeouts ?? 0).toBeGreaterThanOrEqual(1);
      // What brought it back was a probe (nothing else was sent by an idle process): counted as a round trip.
      expect(store.stats().events.round_trips ?? 0).toBeGreaterThan(roundTrips);
      // One record for the one call; nothing throttled.
      expect(records).toHaveLength(1);
      expect(engine.stats.throttled).toBe(0);
    } finally {
      await finops?.shutdown();
      client.disconnect();
    }
  });
});
