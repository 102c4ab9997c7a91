import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveQuotasConfig } from '../../src/quotas/config.js';
import { QuotaCounters } from '../../src/quotas/counters.js';
import { QuotaGovernor } from '../../src/quotas/governor.js';
import { RedisQuotaStore } from '../../src/quotas/index.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

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

/**
 * Adversarial pass 3 on the Redis stores: tenant churn on a shared quota, reachability per part,
 * the EVAL fallback, hash tags of odd names.
 */
describe('RedisQuotaStore: tenant churn', () => {
  // 1,000 tenants, one call of 10 tokens each, over two processes; all go idle for ten windows,
  // one more tenant calls. Every slice was given back (holders 0) but the team table kept a
  // record per tenant ever seen: Redis state grew without bound and each script read it all.
  it('the team table in Redis holds only recent teams after a thousand tenants went idle', async () => {
    const windowMs = 200;
    const [q] = resolveQuotasConfig({ quotas: [{ name: 'q', match: { model: 'm*' }, tokensPerMinute: 1_000_000, windowMs, onLimit: 'reject', shares: { per: 'tenant' } }] }).quotas;
    if (q === undefined) throw new Error('no quota');
    const stores = [0, 1].map(() => new RedisQuotaStore({ client, keyPrefix: 'churn3:', renewIntervalMs: 50, idleReturnMs: 50, sliceFraction: 0.0001 }));
    const govs = stores.map((s) => new QuotaGovernor(q, s, new QuotaCounters()));
    try {
      for (let i = 0; i < 1000; i++) {
        const g = govs[i % 2] as QuotaGovernor;
        const h = await g.acquire(`t${i}`, 1, need(10), false);
        expect(h).not.toBeInstanceOf(Error);
        g.settle(h as never, 10, Date.now());
      }
      await sleep(10 * windowMs);
      // one more tenant, so scripts have run after everyone went idle
      const h = await (govs[0] as QuotaGovernor).acquire('late', 1, need(10), false);
      (govs[0] as QuotaGovernor).settle(h as never, 10, Date.now());
      await sleep(10 * windowMs);
      const teams = await client.hlen('churn3:{q}:qt');
      const holders = await client.hlen('churn3:{q}:qh');
      const z = await client.zcard('churn3:{q}:qz');
      // Before: 1,001 team records (every tenant ever seen, read by every script with HGETALL, twice).
      expect(teams).toBeLessThanOrEqual(2);
      expect(holders).toBeLessThanOrEqual(2);
      expect(z).toBeLessThanOrEqual(2);
    } finally {
      for (const g of govs) g.close();
      for (const s of stores) await s.close();
    }
  }, 60_000);
});
