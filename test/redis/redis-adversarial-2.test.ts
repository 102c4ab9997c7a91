import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bedrockFinOps, isConfigurationError } from '../../src/index.js';
import type { ReservationEntry, Units } from '../../src/budgets/index.js';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import { isBudgetStoreUnavailableError } from '../../src/errors/budget-store-unavailable-error.js';
import { RedisQuotaStore, quotaCharge } from '../../src/quotas/index.js';
import type { QuotaSpec } from '../../src/quotas/store.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { budgetInRedis, sleep } from './fleet-fixture.js';

// Adversarial pass on the Redis stores (second round): absurd numbers reaching Lua, a paused
// node while others answer, shutdown during a pause. Each test says what is charged, released
// and recorded.

let server: RedisServer;
const open: Redis[] = [];
beforeAll(async () => {
  server = await startRedis();
});
afterEach(() => {
  for (const c of open.splice(0)) c.disconnect();
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

const MAX = Number.MAX_SAFE_INTEGER;
const DAY = 86_400_000;
const units = (tokens: number, nanoUsd = 0): Units => ({ tokens, inputTokens: tokens, outputTokens: 0, nanoUsd });
function entry(budget: string, limits: ReservationEntry['limits'], amounts: Units, enforce = true): ReservationEntry {
  const now = Date.now();
  const start = now - (now % DAY);
  return { key: `${budget}\u0001\u0001${start}`, budget, limits, amounts, enforce, windowEnd: start + DAY };
}
async function reserve(store: RedisBudgetStore, id: string, e: ReservationEntry): Promise<boolean> {
  return (await store.reserve({ id, entries: [e], now: Date.now(), leaseMs: 60_000 })).admitted;
}
function commit(store: RedisBudgetStore, id: string, e: ReservationEntry, actual: Units): void {
  store.commit({ id, entries: [{ key: e.key, budget: e.budget, actual, windowEnd: e.windowEnd }], now: Date.now() });
}
async function costInRedis(prefix: string, budget: string): Promise<number> {
  const redis = client();
  const [key] = await redis.keys(`${prefix}{${budget}}:c:*`);
  return Number((await redis.hget(key ?? '', 'u_c')) ?? 0);
}

describe('absurd numbers reaching the budget scripts', () => {
  it('twelve calls each costing the $9M cap, flushed together, are counted once: the script no longer fails half-applied and re-adds their tokens at every flush', async () => {
    const store = new RedisBudgetStore({ client: client(), keyPrefix: 'adv2-cost:', flushIntervalMs: 50 });
    const e = entry('cost', { tokens: 1_000_000 }, units(10));
    for (let i = 0; i < 12; i++) {
      expect(await reserve(store, `c${i}`, e)).toBe(true);
      // An absurd response (a price × a token count nobody bills) is capped at 2^53 − 1 nano-USD per call.
      commit(store, `c${i}`, e, units(10, MAX));
    }
    // Several flushes: before, each one failed on the cost (1.08e17 reached HINCRBY as "1.08e+17") after adding the tokens.
    await sleep(400);
    expect(store.stats().events.errors).toBe(0);
    const report = await store.close();
    expect(report).toEqual({ complete: true, undelivered: [] });
    // Charged: 120 tokens, once; cost capped at 2^53 − 1 nano-USD (over every cost limit); released: the whole slice.
    expect(await budgetInRedis(server.url, 'adv2-cost:', 'cost')).toEqual({ used: 120, leased: 0, counters: 1 });
    expect(await costInRedis('adv2-cost:', 'cost')).toBe(MAX);
  });

  it('a commit with NaN and negative amounts (a custom caller of the store) counts as 0 in those fields, and the rest lands once', async () => {
    const store = new RedisBudgetStore({ client: client(), keyPrefix: 'adv2-nan:', flushIntervalMs: 50 });
    const e = entry('nan', { tokens: 1_000 }, units(10));
    expect(await reserve(store, 'n1', e)).toBe(true);
    commit(store, 'n1', e, { tokens: 7, inputTokens: Number.NaN, outputTokens: -5, nanoUsd: Number.NaN });
    expect(await reserve(store, 'n2', e)).toBe(true);
    commit(store, 'n2', e, units(3));
    await sleep(200);
    expect(store.stats().events.errors).toBe(0);
    expect(await store.close()).toEqual({ complete: true, undelivered: [] });
    // Charged: 7 + 3 tokens; the NaN and negative fields 0; released: the slice.
    expect(await budgetInRedis(server.url, 'adv2-nan:', 'nan')).toEqual({ used: 10, leased: 0, counters: 1 });
    const [used] = await store.read([{ key: e.key, budget: 'nan' }], Date.now());
    expect(used).toEqual({ used: { tokens: 10, inputTokens: 3, outputTokens: 0, nanoUsd: 0 }, reserved: units(0) });
  });

  it('a warn budget with absurd estimates in flight (each 2^53 − 1) keeps flushing: usage is not re-added by failing renewals', async () => {
    const store = new RedisBudgetStore({ client: client(), keyPrefix: 'adv2-warn:', flushIntervalMs: 50 });
    const small = entry('warn', { tokens: 1_000 }, units(10), false);
    const huge = entry('warn', { tokens: 1_000 }, { tokens: MAX, inputTokens: MAX, outputTokens: 0, nanoUsd: 0 }, false);
    // Warn budgets admit past their limit: twelve absurd reservations stay in flight (held ≈ 1.08e17).
    for (let i = 0; i < 12; i++) expect(await reserve(store, `h${i}`, huge)).toBe(true);
    expect(await reserve(store, 's1', small)).toBe(true);
    commit(store, 's1', small, units(25));
    await sleep(400);
    expect(store.stats().events.errors).toBe(0);
    // Charged: the 25 tokens once, while the held room is capped at what the script counts exactly.
    expect((await budgetInRedis(server.url, 'adv2-warn:', 'warn')).used).toBe(25);
    // The absurd calls are released (committed as 0): the slice goes back.
    for (let i = 0; i < 12; i++) commit(store, `h${i}`, huge, units(0));
    expect(await store.close()).toEqual({ complete: true, undelivered: [] });
    expect(await budgetInRedis(server.url, 'adv2-warn:', 'warn')).toEqual({ used: 25, leased: 0, counters: 1 });
  });
});

/** Two standalone servers as the two shards of a Cluster: budget `x`'s hash tag routes to `a`, every other key to `b`. */
function sharded(a: Redis, b: Redis) {
  const route = (keys: readonly (string | number)[]): Redis => (String(keys[0]).includes('{x}') ? a : b);
  return {
    evalsha: (sha: string, n: number, ...ka: (string | number)[]) => route(ka).evalsha(sha, n, ...ka),
    eval: (src: string, n: number, ...ka: (string | number)[]) => route(ka).eval(src, n, ...ka),
  };
}

describe('a paused Redis (or one paused Cluster node)', () => {
  it('a call needing room on a node that stopped answering is refused store-unavailable while that node is still paused, though other nodes answer', async () => {
    const other = await startRedis();
    try {
      const store = new RedisBudgetStore({ client: sharded(client(), client(other.url)), keyPrefix: 'adv2-shard:', storeTimeoutMs: 200, flushIntervalMs: 50 });
      const x = (n: number) => entry('x', { tokens: 1_000_000 }, units(n));
      const y = (n: number) => entry('y', { tokens: 1_000_000 }, units(n));
      expect(await reserve(store, 'x0', x(10))).toBe(true);
      expect(await reserve(store, 'y0', y(10))).toBe(true);
      server.pause();
      try {
        // x needs more than its slice: its script goes unanswered past storeTimeoutMs.
        await expect(reserve(store, 'x1', x(900_000))).rejects.toSatisfy(isBudgetStoreUnavailableError);
        // y's node answers (y's part of Redis is reachable; x's node is still known down)...
        await sleep(100);
        commit(store, 'y0', y(10), units(10));
        await sleep(150);
        expect(await reserve(store, 'y1', y(10))).toBe(true);
        expect(store.stats().unavailable).toBe(true);
        // ...and x's next call no longer waits on the overdue script until the node comes back.
        await expect(reserve(store, 'x2', x(900_000))).rejects.toSatisfy(isBudgetStoreUnavailableError);
      } finally {
        server.resume();
      }
      // Charged: x0 and y1 held their reservation, y0 its 10 tokens; refused calls reserved nothing.
      const [xs] = await store.read([{ key: x(0).key, budget: 'x' }], Date.now());
      expect(xs?.reserved).toEqual(units(10));
      await store.close();
    } finally {
      await other.stop();
    }
  }, 20_000);
});

const spec = (name: string, tokens: number): QuotaSpec => ({ name, limit: { tokens, requests: Infinity }, configured: { tokens, requests: Infinity }, windowMs: 60_000, floor: 0 });

describe('the Redis quota store against absurd numbers and pauses', () => {
  it('an absurd charge (1e300 quota tokens) fills the quota for the fleet instead of wrapping to a negative team total that lets another process past the limit', async () => {
    expect(quotaCharge({ inputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 1e300 }, 5)).toBe(MAX);
    const q = spec('absurd', 1_000);
    const a = new RedisQuotaStore({ client: client(), keyPrefix: 'adv2-q:', renewIntervalMs: 100 });
    const b = new RedisQuotaStore({ client: client(), keyPrefix: 'adv2-q:', renewIntervalMs: 100 });
    expect((await a.tryHold({ quota: q, team: '', weight: 1, id: 'a1', need: { tokens: 100, requests: 1 }, now: Date.now() })).held).toBe(true);
    // Charged: a response claiming 1e300 quota tokens (a store caller may pass it as is).
    a.settle({ quota: q, team: '', id: 'a1', charged: { tokens: 1e300, requests: 1 }, now: Date.now() });
    await sleep(300);
    const [team] = Object.values(await client().hgetall('adv2-q:{absurd}:qt'));
    expect(Number(team?.split(' ')[0])).toBeGreaterThanOrEqual(1_000);
    // Another process: nothing fits while that charge is in the window (before: 11 × 100 held under a 1,000 quota).
    let held = 0;
    for (let i = 0; i < 15; i++) if ((await b.tryHold({ quota: q, team: '', weight: 1, id: `b${i}`, need: { tokens: 100, requests: 1 }, now: Date.now() })).held) held++;
    expect(held).toBe(0);
    await a.close();
    await b.close();
  });

  it('a quota limit past 2^53 is a ConfigurationError (a Redis store would have admitted nothing at 1e21), and 2^53 − 1 still works through Redis', async () => {
    const rule = (tokensPerMinute: number) => ({ name: 'big', match: { model: 'anthropic.claude-sonnet-4*' }, tokensPerMinute });
    let thrown: unknown;
    try {
      bedrockFinOps({ quotas: [rule(1e21)] });
    } catch (error) {
      thrown = error;
    }
    expect(isConfigurationError(thrown) && thrown.message.includes('tokensPerMinute')).toBe(true);
    expect(() => bedrockFinOps({ quotas: [{ ...rule(10), requestsPerMinute: 2 ** 60 }] })).toThrow(/requestsPerMinute/);
    const store = new RedisQuotaStore({ client: client(), keyPrefix: 'adv2-big:' });
    let held = 0;
    for (let i = 0; i < 5; i++) if ((await store.tryHold({ quota: spec('big', MAX), team: '', weight: 1, id: `m${i}`, need: { tokens: 100, requests: 1 }, now: Date.now() })).held) held++;
    expect(held).toBe(5);
    await store.close();
  });

  it('while Redis is paused, a call needing quota room after a first one timed out is answered (an error: it goes on unchecked) without waiting for Redis', async () => {
    const store = new RedisQuotaStore({ client: client(), keyPrefix: 'adv2-qp:', storeTimeoutMs: 200, closeTimeoutMs: 300 });
    const q = spec('paused', 10_000);
    const hold = (id: string) => Promise.resolve().then(() => store.tryHold({ quota: q, team: '', weight: 1, id, need: { tokens: 100, requests: 1 }, now: Date.now() }));
    server.pause();
    try {
      await expect(hold('p1')).rejects.toThrow(/storeTimeoutMs/);
      // Before: this one waited on the unanswered script for as long as Redis stayed paused.
      await expect(hold('p2')).rejects.toThrow(/storeTimeoutMs/);
      expect(store.stats().unavailable).toBe(true);
      // Shutdown during the pause gives up at closeTimeoutMs (before: it waited for Redis).
      await store.close();
    } finally {
      server.resume();
    }
    // Held: nothing (both calls went on without a quota check, Bedrock stays the limit).
    expect(store.read(q, Date.now()).inUse).toEqual({ tokens: 0, requests: 0 });
  }, 20_000);
});
