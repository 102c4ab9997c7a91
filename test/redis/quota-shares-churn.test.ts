import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveQuotasConfig } from '../../src/quotas/config.js';
import { QuotaCounters } from '../../src/quotas/counters.js';
import { QuotaGovernor, type Acquired } from '../../src/quotas/governor.js';
import { RedisQuotaStore } from '../../src/quotas/index.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

/**
 * A shared quota on Redis over a day of tenants: the 257th tenant ever seen, arriving after the
 * others went idle, gets a part of its own, as with the in-memory store (it shared one `_OTHER`
 * part with every later tenant for good).
 */
let server: RedisServer;
let client: Redis;
beforeAll(async () => {
  server = await startRedis();
  client = new Redis(server.url, { maxRetriesPerRequest: null });
});
afterAll(async () => {
  client.disconnect();
  await server.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const need = (tokens: number) => ({ tokens, requests: 1 });
const held = async (a: Acquired | Promise<Acquired>): Promise<boolean> => {
  const r = await Promise.resolve(a).catch((e: unknown) => e);
  return !(r instanceof Error);
};

describe('RedisQuotaStore: shares among thousands of tenants over time', () => {
  it('a tenant arriving after 256 idle others gets its own guaranteed part, not one shared with every later tenant', async () => {
    const windowMs = 300;
    const [q] = resolveQuotasConfig({ quotas: [{ name: 'q', match: { model: 'm*' }, tokensPerMinute: 10_000, windowMs, onLimit: 'reject', shares: { per: 'tenant' } }] }).quotas;
    if (q === undefined) throw new Error('no quota');
    const store = new RedisQuotaStore({ client, keyPrefix: 'churn:', renewIntervalMs: 50, idleReturnMs: 100, sliceFraction: 0.001 });
    const g = new QuotaGovernor(q, store, new QuotaCounters());
    try {
      // 256 tenants, one call each, charged 1 (each a slice of its need and 0.1% of the quota).
      for (let i = 0; i < 256; i++) {
        const h = await g.acquire(`old${i}`, 1, need(1), false);
        expect(h).not.toBeInstanceOf(Error);
        g.settle(h as never, 1, Date.now());
      }
      // Two windows later they are idle (nothing in flight or charged in the window, no ask).
      await sleep(5 * windowMs);
      // y asks for a little (it is active now: guaranteed half of 10,000 beside x); charged 1,000.
      const y = await g.acquire('y', 1, need(1_000), false);
      expect(y).not.toBeInstanceOf(Error);
      g.settle(y as never, 1_000, Date.now());
      // x may take its half (5,000), not 9,000: that would leave y 0 of its 5,000 (before: x and y were one `_OTHER` team, and x got 9,000).
      expect(await held(g.acquire('x', 1, need(9_000), false))).toBe(false);
      expect(await held(g.acquire('x', 1, need(5_000), false))).toBe(true);
      expect(await held(g.acquire('y', 1, need(3_900), false))).toBe(true);
    } finally {
      g.close();
      await store.close();
    }
  });
});
