import { diag, DiagLogLevel } from '@opentelemetry/api';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isBudgetExceededError } from '../../src/index.js';
import type { ReservationEntry, Units } from '../../src/budgets/index.js';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import { LEASE } from '../../src/budgets/redis/scripts.js';
import { tokensOfText } from '../../src/testing/index.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/processes.js';
import { budgetInRedis, PER_CALL, sleep } from './fleet-fixture.js';
import { lossyProxy } from './lossy-proxy.js';
import { simulated } from '../helpers/simulated-finops.js';

let server: RedisServer;
const open: { quit: () => Promise<unknown> }[] = [];
beforeAll(async () => {
  server = await startRedis();
});
afterEach(async () => {
  for (const c of open.splice(0)) await c.quit().catch(() => undefined);
});
afterAll(async () => {
  await server.stop();
});

function client(url = server.url): Redis {
  const c = new Redis(url, { maxRetriesPerRequest: null });
  c.on('error', () => undefined);
  open.push(c);
  return c;
}

const tokens = (n: number): Units => ({ tokens: n, inputTokens: n, outputTokens: 0, nanoUsd: 0 });
const DAY = 86_400_000;
const dayKey = (budget: string, now = Date.now()) => `${budget}\u0001\u0001${now - (now % DAY)}`;
function entry(budget: string, limit: number, amount: number, now = Date.now()): ReservationEntry {
  return { key: dayKey(budget, now), budget, limits: { tokens: limit }, amounts: tokens(amount), enforce: true, windowEnd: now - (now % DAY) + DAY };
}
async function reserveAndCommit(store: RedisBudgetStore, budget: string, limit: number, amount: number, id: string): Promise<boolean> {
  const now = Date.now();
  const e = entry(budget, limit, amount, now);
  const r = await store.reserve({ id, entries: [e], now, leaseMs: 60_000 });
  if (r.admitted) store.commit({ id, entries: [{ key: e.key, budget, actual: tokens(amount), windowEnd: e.windowEnd }], now });
  return r.admitted;
}

describe('Redis budget store faults', () => {
  it('a lease script whose reply is lost is re-sent by ioredis and applies once (slice and usage alike)', async () => {
    const proxy = await lossyProxy(server.port);
    try {
      const store = new RedisBudgetStore({ client: client(`redis://127.0.0.1:${proxy.port}`), keyPrefix: 'lost:' });
      expect(await reserveAndCommit(store, 'warmup', 1_000_000, 10, 'w1')).toBe(true);
      await sleep(50);
      // The first slice of a new budget: its reply is lost, the script runs twice.
      proxy.loseNextReply();
      expect(await reserveAndCommit(store, 'lost', 1_000_000, 100, 'l1')).toBe(true);
      expect(proxy.lost()).toBe(1);
      const stats = store.stats();
      // Leased once: Redis's leased room is exactly this process's slice.
      const inRedis = await budgetInRedis(server.url, 'lost:', 'lost');
      const [state] = await store.read([{ key: dayKey('lost'), budget: 'lost' }], Date.now());
      expect(state).toEqual({ used: tokens(100), reserved: tokens(0) });
      expect(inRedis.leased).toBeGreaterThan(0);
      // Its last report (usage and the slice given back) is lost too, and re-sent by ioredis.
      proxy.loseNextReply();
      const report = await store.close();
      expect(proxy.lost()).toBe(2);
      expect(report).toEqual({ complete: true, undelivered: [] });
      // Charged once: 100 tokens; released: the whole slice.
      expect(await budgetInRedis(server.url, 'lost:', 'lost')).toEqual({ used: 100, leased: 0, counters: 1 });
      expect(stats.events.errors).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  it('SCRIPT FLUSH mid-traffic: scripts are loaded again (EVAL on NOSCRIPT) and nothing is lost or doubled', async () => {
    const redis = client();
    const store = new RedisBudgetStore({ client: redis, keyPrefix: 'flush:', sliceFraction: 0.001, flushIntervalMs: 50 });
    let admitted = 0;
    const flusher = (async () => {
      for (let i = 0; i < 5; i++) {
        await sleep(150);
        await redis.script('FLUSH');
      }
    })();
    for (let i = 0; i < 800; i++) if (await reserveAndCommit(store, 'flush', 1_000_000, 10, `f${i}`)) admitted++;
    await flusher;
    expect(admitted).toBe(800);
    expect(await store.close()).toEqual({ complete: true, undelivered: [] });
    expect(store.stats().events.errors).toBe(0);
    // Charged: every commit once; released: every slice.
    expect(await budgetInRedis(server.url, 'flush:', 'flush')).toEqual({ used: 8_000, leased: 0, counters: 1 });
  });

  it('under volatile-lru eviction the counters survive (they carry no TTL): totals stay exact', async () => {
    const lru = await startRedis(['--maxmemory', '4mb', '--maxmemory-policy', 'volatile-lru']);
    try {
      const redis = client(lru.url);
      const store = new RedisBudgetStore({ client: redis, keyPrefix: 'lru:', sliceFraction: 0.001, flushIntervalMs: 50 });
      const junk = client(lru.url);
      const filler = (async () => {
        const value = 'x'.repeat(10_000);
        for (let i = 0; i < 1_500; i++) await junk.set(`junk:${i}`, value, 'PX', 600_000);
      })();
      let admitted = 0;
      for (let i = 0; i < 500; i++) if (await reserveAndCommit(store, 'lru', 1_000_000, 10, `e${i}`)) admitted++;
      await filler;
      expect(await store.close()).toEqual({ complete: true, undelivered: [] });
      const evicted = Number(/evicted_keys:(\d+)/.exec(await junk.info('stats'))?.[1]);
      expect(evicted).toBeGreaterThan(0);
      expect(admitted).toBe(500);
      // Charged: every commit, none evicted; released: every slice.
      expect(await budgetInRedis(lru.url, 'lru:', 'lru')).toEqual({ used: 5_000, leased: 0, counters: 1 });
      const keys = await junk.keys('lru:*');
      for (const k of keys) expect(await junk.pttl(k)).toBe(-1);
    } finally {
      await lru.stop();
    }
  });

  it('warns once when Redis may evict keys without a TTL (allkeys-lru)', async () => {
    const lru = await startRedis(['--maxmemory-policy', 'allkeys-lru']);
    const warnings: string[] = [];
    diag.setLogger({ error: () => undefined, warn: (m: string) => warnings.push(m), info: () => undefined, debug: () => undefined, verbose: () => undefined }, DiagLogLevel.WARN);
    try {
      const store = new RedisBudgetStore({ client: client(lru.url), keyPrefix: 'policy:' });
      for (let i = 0; i < 3; i++) await reserveAndCommit(store, `policy${i}`, 1_000, 1, `p${i}`);
      await waitFor('the policy warning', async () => (warnings.some((w) => w.includes('maxmemory-policy')) ? true : undefined), 5_000, 20);
      await store.close();
      expect(warnings.filter((w) => w.includes('maxmemory-policy is allkeys-lru'))).toHaveLength(1);
    } finally {
      diag.disable();
      await lru.stop();
    }
  });

  it('a 300 ms event-loop stall with Redis healthy is not an outage: nothing is let through unchecked', async () => {
    const fits = 100;
    const limit = PER_CALL * fits;
    const redis = client();
    // The loop stalls for 300 ms right after the first lease script is sent, three times its 100 ms timeout.
    let leaseScripts = 0;
    const stalling = {
      evalsha: (sha: string, numKeys: number, ...rest: (string | number)[]) => {
        const reply = redis.evalsha(sha, numKeys, ...rest);
        if (sha === LEASE.sha && leaseScripts++ === 0) {
          const until = performance.now() + 300;
          while (performance.now() < until);
        }
        return reply;
      },
      eval: (script: string, numKeys: number, ...rest: (string | number)[]) => redis.eval(script, numKeys, ...rest),
    };
    const store = new RedisBudgetStore({ client: stalling, keyPrefix: 'stall:', storeTimeoutMs: 100 });
    const { finops, call } = simulated({ budgetStore: store, onStoreError: 'allow', insuranceFraction: 1, estimator: () => tokensOfText('hello world') + 3, budgets: [{ name: 'stall', limit: { tokens: limit }, window: 'day' }] });
    const results = await Promise.allSettled(Array.from({ length: 1_000 }, () => call()));
    const admitted = results.filter((r) => r.status === 'fulfilled').length;
    const reasons = results.flatMap((r) => (r.status === 'rejected' && isBudgetExceededError(r.reason) ? [r.reason.reason] : []));
    expect(leaseScripts).toBeGreaterThan(0);
    // Refused for the limit only; admitted exactly what fits (the insurance, a whole limit here, never used).
    expect(admitted).toBe(fits);
    expect(reasons).toEqual(Array.from({ length: 1_000 - fits }, () => 'limit'));
    expect(store.stats()).toMatchObject({ unavailable: false, events: { timeouts: 0, unavailable_admissions: 0 } });
    await finops.shutdown();
    // Charged: exactly the 100 calls that fit; released: the slice; recorded: no timeout, no outage.
    expect(await budgetInRedis(server.url, 'stall:', 'stall')).toEqual({ used: fits * PER_CALL, leased: 0, counters: 1 });
  });

  it("Redis down with onStoreError 'allow': calls go on within the slice, then within the insurance allowance only; usage lands once Redis is back", async () => {
    const outage = await startRedis();
    try {
      const limit = 16_000;
      const store = new RedisBudgetStore({ client: client(outage.url), keyPrefix: 'insured:', storeTimeoutMs: 100, closeTimeoutMs: 10_000 });
      const { finops, call } = simulated({ budgetStore: store, onStoreError: 'allow', insuranceFraction: 0.1, estimator: () => tokensOfText('hello world') + 3, budgets: [{ name: 'insured', limit: { tokens: limit }, window: 'day' }] });
      await call();
      const slice = store.stats().slices;
      expect(slice).toBe(1);
      await outage.kill();
      let admitted = 1;
      let unavailable = 0;
      for (let i = 0; i < 300; i++) {
        try {
          await call();
          admitted++;
        } catch (e) {
          if (!isBudgetExceededError(e) || e.reason !== 'store-unavailable') throw e;
          unavailable++;
        }
      }
      // The slice (1/16 of the room) and then the insurance (10% of the limit, 100 calls) admitted; the rest refused as store-unavailable.
      const sliceCalls = Math.floor(limit / 16 / PER_CALL);
      expect(admitted).toBeLessThanOrEqual(1 + sliceCalls + limit / 10 / PER_CALL);
      expect(admitted).toBeGreaterThan(limit / 10 / PER_CALL);
      expect(unavailable).toBe(301 - admitted);
      await outage.restart();
      await waitFor('usage to reach Redis', async () => (store.stats().pendingCommits === 0 ? true : undefined), 20_000, 100);
      await finops.shutdown();
      // Charged: every admitted call, insured ones included, once; released: the slice.
      expect(await budgetInRedis(outage.url, 'insured:', 'insured')).toEqual({ used: admitted * PER_CALL, leased: 0, counters: 1 });
    } finally {
      await outage.stop();
    }
  });

  it("Redis down with onStoreError 'deny': calls no slice has room for are refused before sending (store-unavailable, not limit), and admitted again once it is back", async () => {
    const outage = await startRedis();
    try {
      const store = new RedisBudgetStore({ client: client(outage.url), keyPrefix: 'denied:', storeTimeoutMs: 100 });
      // A slice of 1/16 of 1,600 tokens holds 6 calls.
      const { finops, call } = simulated({ budgetStore: store, onStoreError: 'deny', estimator: () => tokensOfText('hello world') + 3, budgets: [{ name: 'denied', limit: { tokens: 100 * PER_CALL }, window: 'day' }] });
      await call();
      await outage.kill();
      const during = await Promise.allSettled(Array.from({ length: 20 }, () => call()));
      const refused = during.flatMap((r) => (r.status === 'rejected' && isBudgetExceededError(r.reason) ? [r.reason.reason] : []));
      expect(refused.length).toBeGreaterThan(10);
      expect(new Set(refused)).toEqual(new Set(['store-unavailable']));
      const admittedDuring = during.filter((r) => r.status === 'fulfilled').length;
      expect(admittedDuring + refused.length).toBe(20);
      await outage.restart();
      await waitFor('calls to be admitted again', async () => ((await call().then(() => true, () => false)) ? true : undefined), 20_000, 100);
      await finops.shutdown();
      // Charged: the calls admitted before, during (from the slice) and after; released: the slice.
      const used = (await budgetInRedis(outage.url, 'denied:', 'denied')).used;
      expect(used % PER_CALL).toBe(0);
      expect(used / PER_CALL).toBeGreaterThanOrEqual(2 + admittedDuring);
      expect(await budgetInRedis(outage.url, 'denied:', 'denied')).toMatchObject({ leased: 0 });
    } finally {
      await outage.stop();
    }
  });

  it('close() during a Redis pause gives up at its deadline and reports what it could not deliver', async () => {
    const paused = await startRedis();
    try {
      const store = new RedisBudgetStore({ client: client(paused.url), keyPrefix: 'closing:', closeTimeoutMs: 300 });
      expect(await reserveAndCommit(store, 'closing', 1_000, 40, 'c1')).toBe(true);
      paused.pause();
      const report = await store.close();
      // Charged in Redis: nothing (it never answered); recorded: the 40 tokens it never acknowledged, reported and counted as dropped.
      expect(report).toEqual({ complete: false, undelivered: [{ budget: 'closing', key: dayKey('closing'), usage: tokens(40), commits: 1 }] });
      expect(store.stats().events.dropped).toBe(1);
      paused.resume();
    } finally {
      await paused.stop();
    }
  });
});
