import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveQuotasConfig } from '../../src/quotas/config.js';
import { QuotaCounters } from '../../src/quotas/counters.js';
import { QuotaGovernor } from '../../src/quotas/governor.js';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import { budgetTag, KeySpace } from '../../src/budgets/redis/keys.js';
import { isBudgetStoreUnavailableError } from '../../src/errors/budget-store-unavailable-error.js';
import { RedisQuotaStore } from '../../src/quotas/index.js';
import type { QuotaSpec } from '../../src/quotas/store.js';
import { waitFor } from '../helpers/processes.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { budgetInRedis } from './fleet-fixture.js';
import { DAY, dayEntry, units } from './day-entry.js';

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

describe('the EVAL fallback when permissions change while the store runs', () => {
  // A user that may not run EVALSHA makes the store send EVAL from then on. An operator then
  // swaps the role (scripts allowed by SHA only: +evalsha -eval, a common lock-down once the
  // scripts are in the cache). Before: the store kept sending EVAL, refused NOPERM every time, so
  // every call needing room was refused store-unavailable until the process restarted.
  it('a user first refused EVALSHA and then refused EVAL goes back to EVALSHA: calls are admitted and charged once', async () => {
    const admin = new Redis(server.url);
    await admin.acl('SETUSER', 'flip', 'reset', 'on', '>secret', '~*', '&*', '+@all', '-evalsha', '-evalsha_ro');
    const c = new Redis(server.port, '127.0.0.1', { username: 'flip', password: 'secret', maxRetriesPerRequest: null });
    c.on('error', () => undefined);
    const store = new RedisBudgetStore({ client: c, keyPrefix: 'flip:', sliceFraction: 0.0001 });
    try {
      const now = Date.now();
      const first = dayEntry('flip', 1_000, 100, now);
      expect((await store.reserve({ id: 'f0', entries: [first], now, leaseMs: 60_000 })).admitted).toBe(true);
      store.commit({ id: 'f0', entries: [{ key: first.key, budget: 'flip', actual: units(100), windowEnd: first.windowEnd }], now });
      await admin.acl('SETUSER', 'flip', '+evalsha', '+evalsha_ro', '-eval', '-eval_ro');
      const outcomes: string[] = [];
      for (let i = 1; i <= 5; i++) {
        const e = dayEntry('flip', 1_000, 100, now);
        try {
          const r = await store.reserve({ id: `f${i}`, entries: [e], now, leaseMs: 60_000 });
          outcomes.push(r.admitted ? 'admitted' : 'refused');
          if (r.admitted) store.commit({ id: `f${i}`, entries: [{ key: e.key, budget: 'flip', actual: units(100), windowEnd: e.windowEnd }], now });
        } catch (error) {
          outcomes.push(isBudgetStoreUnavailableError(error) ? 'store-unavailable' : String(error));
        }
      }
      // Each call needs a new lease (the slice is exactly what is asked): 5 of 5 admitted (before: 5 store-unavailable).
      expect(outcomes).toEqual(['admitted', 'admitted', 'admitted', 'admitted', 'admitted']);
      expect(await store.close()).toEqual({ complete: true, undelivered: [] });
      // Charged: 6 × 100, once each; released: every slice.
      expect(await budgetInRedis(server.url, 'flip:', 'flip')).toEqual({ used: 600, leased: 0, counters: 1 });
    } finally {
      await store.close();
      c.disconnect();
      admin.disconnect();
    }
  });
});

describe('RedisBudgetStore: finished windows of per-value counters', () => {
  // A per-team budget makes one counter per team and window. 200 counters whose window ended
  // long ago (left by earlier processes) and one live counter; the store prunes every retainMs
  // (at most 15 minutes). Before: each prune deleted 32 counters, so a budget with more than
  // 32 values per prune period (3,072 a day at the default retainMs) grew in Redis without end.
  it('one prune deletes every finished counter of a budget, not 32 of them', async () => {
    const admin = new Redis(server.url);
    const prefix = 'prune3:';
    const tag = 'per{team}';
    const store = new RedisBudgetStore({ client, keyPrefix: prefix, retainMs: 2_000, flushIntervalMs: 100 });
    try {
      const keys = new KeySpace(prefix);
      const old = Date.now() - 10 * DAY;
      for (let i = 0; i < 200; i++) {
        const id = `${tag}\u0001team=t${i}\u0001${old}`;
        const k = keys.of(tag, id);
        await admin.hset(k.counter, 'u_t', '10');
        await admin.zadd(k.holders, String(old), 'gone');
        await admin.zadd(k.windows, String(old), id);
      }
      const counters = async () => (await admin.keys(`${prefix}*:c:*`)).length;
      expect(await counters()).toBe(200);
      // The store uses the budget now (a counter of today), so it prunes the budget's finished windows.
      const now = Date.now();
      const live = dayEntry(tag, 1_000, 10, now);
      expect((await store.reserve({ id: 'p1', entries: [live], now, leaseMs: 60_000 })).admitted).toBe(true);
      store.commit({ id: 'p1', entries: [{ key: live.key, budget: tag, actual: units(10), windowEnd: live.windowEnd }], now });
      await waitFor('the first prune', async () => ((await counters()) < 201 ? true : undefined), 20_000, 20);
      // Let that prune finish (nothing changes for 300 ms; the next prune is 2 s later).
      let last = -1;
      await waitFor('the prune to finish', async () => {
        const n = await counters();
        const quiet = n === last;
        last = n;
        return quiet ? true : undefined;
      }, 20_000, 300);
      // Before: 168 of the 200 finished counters were left (and their holder sets).
      expect(await counters()).toBe(1);
      expect(await admin.keys(`${prefix}*:z:*`)).toHaveLength(1);
      expect(await admin.zcard(keys.windows(tag))).toBe(1);
    } finally {
      await store.close();
      admin.disconnect();
    }
  });
});

describe('RedisBudgetStore: an error one budget\'s keys draw is not an outage of the server', () => {
  // An ACL user whose key patterns cover one budget's keys (kp:{ok}*) and not another's. Every
  // script of 'no' is refused NOPERM (its calls follow onStoreError: right). Before: that answer
  // marked the whole server unreachable, so the next call on 'ok' needing room was refused
  // store-unavailable without asking Redis (3 of 4 after a call on 'no').
  it("a NOPERM about one budget's keys leaves the other budgets admitting", async () => {
    const admin = new Redis(server.url);
    await admin.acl('SETUSER', 'somekeys', 'reset', 'on', '>secret', '~kp:{ok}*', '&*', '+@all');
    const c = new Redis(server.port, '127.0.0.1', { username: 'somekeys', password: 'secret', maxRetriesPerRequest: null });
    c.on('error', () => undefined);
    const store = new RedisBudgetStore({ client: c, keyPrefix: 'kp:', sliceFraction: 0.0001, closeTimeoutMs: 300 });
    try {
      const now = Date.now();
      const outcomes: string[] = [];
      for (let i = 0; i < 8; i++) {
        const budget = i % 2 === 0 ? 'ok' : 'no';
        const e = dayEntry(budget, 10_000, 100, now);
        try {
          const r = await store.reserve({ id: `k${i}`, entries: [e], now, leaseMs: 60_000 });
          outcomes.push(`${budget}:${r.admitted ? 'admitted' : 'refused'}`);
          if (r.admitted) store.commit({ id: `k${i}`, entries: [{ key: e.key, budget, actual: units(100), windowEnd: e.windowEnd }], now });
        } catch (error) {
          outcomes.push(`${budget}:${isBudgetStoreUnavailableError(error) ? 'store-unavailable' : String(error)}`);
        }
      }
      expect(outcomes).toEqual(['ok:admitted', 'no:store-unavailable', 'ok:admitted', 'no:store-unavailable', 'ok:admitted', 'no:store-unavailable', 'ok:admitted', 'no:store-unavailable']);
      await store.close();
      // Charged: the 4 calls on 'ok' (100 each), once; released: its slices.
      expect(await budgetInRedis(server.url, 'kp:', 'ok')).toEqual({ used: 400, leased: 0, counters: 1 });
    } finally {
      await store.close();
      c.disconnect();
      admin.disconnect();
    }
  });
});

describe('quota and budget names that differ only in a lone surrogate', () => {
  // Redis receives a lone surrogate as U+FFFD, so '\uD800' and '\uDBFF' (two quotas of a
  // configuration built from user text) were one tag and one Redis state: the second quota's
  // 10 calls of 100 found the first's 1,000 tokens taken (0 of 10 held).
  it('each quota keeps its own room', async () => {
    const store = new RedisQuotaStore({ client, keyPrefix: 'lone:' });
    try {
      const held: number[] = [];
      for (const name of ['q\uD800', 'q\uDBFF']) {
        const q: QuotaSpec = { name, limit: { tokens: 1_000, requests: Infinity }, configured: { tokens: 1_000, requests: Infinity }, windowMs: 60_000, floor: 0 };
        let n = 0;
        for (let k = 0; k < 10; k++) if ((await store.tryHold({ quota: q, team: '', weight: 1, id: `${name}${k}`, need: { tokens: 100, requests: 1 }, now: Date.now() })).held) n++;
        held.push(n);
      }
      expect(held).toEqual([10, 10]);
      expect(budgetTag('q\uD800')).not.toBe(budgetTag('q\uDBFF'));
      // What goes on the wire is what the tag says (no lone surrogate left in it).
      expect(budgetTag('q\uD800')).not.toMatch(/[\uD800-\uDFFF]/);
    } finally {
      await store.close();
    }
  });
});

describe('RedisQuotaStore: a paused server and many teams', () => {
  // One Redis server paused (SIGSTOP). The first team's call waits storeTimeoutMs and goes on
  // without a quota check. Before: each other team's first call sent a script of its own and
  // waited storeTimeoutMs too (6 timeouts for 6 teams; a per-tenant quota with thousands of
  // tenants made each one's first call wait); the budget store finds an outage once.
  it("after one script is overdue, other teams' calls go on at once and the store comes back at SIGCONT", async () => {
    const own = await startRedis();
    const c = new Redis(own.url, { maxRetriesPerRequest: null });
    c.on('error', () => undefined);
    const store = new RedisQuotaStore({ client: c, keyPrefix: 'pause3:', storeTimeoutMs: 300, closeTimeoutMs: 300 });
    const q: QuotaSpec = { name: 'q', limit: { tokens: 1_000, requests: Infinity }, configured: { tokens: 1_000, requests: Infinity }, windowMs: 60_000, floor: 0 };
    const hold = (team: string, id: string) => Promise.resolve(store.tryHold({ quota: q, team, weight: 1, id, need: { tokens: 10, requests: 1 }, now: Date.now() }));
    try {
      expect((await hold('warm', 'w')).held).toBe(true);
      own.pause();
      await expect(hold('t0', 'a0')).rejects.toThrow(/storeTimeoutMs/);
      expect(store.stats()).toMatchObject({ unavailable: true, events: { timeouts: 1 } });
      const others = await Promise.allSettled([1, 2, 3, 4, 5].map((i) => hold(`t${i}`, `a${i}`)));
      expect(others.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected', 'rejected']);
      // None of them sent a script that then timed out (before: 6).
      expect(store.stats().events.timeouts).toBe(1);
      own.resume();
      await waitFor('the store to see Redis again', async () => (store.stats().unavailable ? undefined : true), 10_000, 20);
      expect((await hold('t6', 'a6')).held).toBe(true);
    } finally {
      own.resume();
      await store.close();
      c.disconnect();
      await own.stop();
    }
  });
});
