import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReservationEntry } from '../../src/budgets/index.js';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import { RedisQuotaStore } from '../../src/quotas/index.js';
import { isConfigurationError } from '../../src/index.js';
import { isBudgetStoreUnavailableError } from '../../src/errors/budget-store-unavailable-error.js';
import { waitFor } from '../helpers/processes.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { budgetInRedis, sleep } from './fleet-fixture.js';
import { dayEntry, units } from './day-entry.js';

// Redis loses a budget's counter while two processes use it: FLUSHALL, a restart without
// persistence, eviction under allkeys-lru. Committed usage never falls within a window, so each
// process leases against the most usage it has seen, and reports its own usage again (cumulative
// per holder). Before: a process that asked Redis first after the loss was leased the whole
// limit again, and the other process's usage came back on top of it once it reported: the fleet
// committed its earlier usage past the limit (12,000+ tokens against 10,000).

const LIMIT = 10_000;
const CALL = 100;
const entry = (budget: string): ReservationEntry => dayEntry(budget, LIMIT, CALL);

let n = 0;
/**
 * Calls of 100 tokens (each committed in full) until one is refused for the limit or `max` were
 * admitted. A call refused store-unavailable (Redis recovering a lost counter) is tried again a
 * moment later, for at most 20 s. Returns what was admitted and refused store-unavailable.
 */
async function callUntilRefused(store: RedisBudgetStore, budget: string, max: number): Promise<{ admitted: number; unavailable: number }> {
  let admitted = 0;
  let unavailable = 0;
  const until = Date.now() + 20_000;
  while (admitted < max && Date.now() < until) {
    const e = entry(budget);
    const id = `s${n++}`;
    try {
      if (!(await store.reserve({ id, entries: [e], now: Date.now(), leaseMs: 60_000 })).admitted) break;
    } catch (error) {
      if (!isBudgetStoreUnavailableError(error)) throw error;
      unavailable++;
      await sleep(50);
      continue;
    }
    store.commit({ id, entries: [{ key: e.key, budget, actual: units(CALL), windowEnd: e.windowEnd }], now: Date.now() });
    admitted++;
  }
  return { admitted, unavailable };
}

const open: Redis[] = [];
function client(url: string): Redis {
  const c = new Redis(url, { maxRetriesPerRequest: null });
  c.on('error', () => undefined);
  open.push(c);
  return c;
}
afterAll(() => {
  for (const c of open.splice(0)) c.disconnect();
});

/** Two processes, A (2,000 tokens) and B (100), both flushed; then `lose` runs; then B and A call until refused (B first: it asks Redis first after the loss). */
async function scenario(server: RedisServer, prefix: string, lose: (admin: Redis, counterKey: string) => Promise<void>) {
  const admin = client(server.url);
  // Slices renew every 2 s (a third of sliceTtlMs): a counter Redis lost recovers in 3 s (half of it).
  const settings = { keyPrefix: prefix, flushIntervalMs: 50, sliceTtlMs: 6_000, idempotencyMs: 60_000, closeTimeoutMs: 10_000 };
  const a = new RedisBudgetStore({ client: client(server.url), ...settings });
  const b = new RedisBudgetStore({ client: client(server.url), ...settings });
  // A's usage reaches Redis before B's, so B's flush answer shows both (what B has seen: 2,100).
  let admitted = (await callUntilRefused(a, 'lost', 20)).admitted;
  await waitFor('A to flush', async () => (a.stats().pendingCommits === 0 ? true : undefined), 10_000, 20);
  admitted += (await callUntilRefused(b, 'lost', 1)).admitted;
  await waitFor('B to flush', async () => (b.stats().pendingCommits === 0 ? true : undefined), 10_000, 20);
  const before = await budgetInRedis(server.url, prefix, 'lost');
  expect(before.used).toBe(2_100);
  const [key] = await admin.keys(`${prefix}{lost}:c:*`);
  await lose(admin, key ?? '');
  const afterB = await callUntilRefused(b, 'lost', 200);
  const afterA = await callUntilRefused(a, 'lost', 200);
  admitted += afterB.admitted + afterA.admitted;
  expect(await a.close()).toEqual({ complete: true, undelivered: [] });
  expect(await b.close()).toEqual({ complete: true, undelivered: [] });
  const after = await budgetInRedis(server.url, prefix, 'lost');
  const lost = (a.stats().events.counters_lost ?? 0) + (b.stats().events.counters_lost ?? 0);
  return { admitted, before, after, lost, unavailable: afterB.unavailable + afterA.unavailable };
}

describe('Redis loses a budget counter mid-run', () => {
  let server: RedisServer;
  beforeAll(async () => {
    // No persistence: a restart comes back empty.
    server = await startRedis(['--appendonly', 'no']);
  });
  afterAll(async () => {
    await server.stop();
  });

  const check = (r: Awaited<ReturnType<typeof scenario>>): void => {
    // Committed: everything admitted, once (both holders were live: each reported its usage again).
    expect(r.after).toEqual({ used: r.admitted * CALL, leased: 0, counters: 1 });
    // Admitted: at most the limit plus the room the two slices held when Redis lost it (that
    // room was admitted from locally, Redis no longer counting it). Before: plus A's 2,000 again.
    expect(r.admitted * CALL).toBeLessThanOrEqual(LIMIT + r.before.leased);
    expect(r.admitted * CALL).toBeGreaterThanOrEqual(LIMIT - CALL);
    // Recorded: the loss, seen by the processes (counters_lost; a diag error once); calls that
    // needed room while the counter recovered were refused store-unavailable (onStoreError decides).
    expect(r.lost).toBeGreaterThanOrEqual(1);
    expect(r.unavailable).toBeGreaterThanOrEqual(1);
  };

  it('FLUSHALL: the fleet does not lease the lost usage again', async () => {
    check(await scenario(server, 'flushall:', async (admin) => { await admin.flushall(); }));
  });

  it('a restart without persistence: the fleet does not lease the lost usage again', async () => {
    check(
      await scenario(server, 'restart:', async () => {
        await server.kill();
        await server.restart();
      }),
    );
  });

  it('the counter evicted under maxmemory 1mb with allkeys-lru: the fleet does not lease the evicted usage again', async () => {
    check(
      await scenario(server, 'evict:', async (admin, key) => {
        await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
        await admin.config('SET', 'maxmemory', '1mb');
        const value = 'x'.repeat(10_000);
        for (let i = 0; i < 2_000 && (await admin.exists(key)) === 1; i++) await admin.set(`junk:${i}`, value);
        expect(await admin.exists(key)).toBe(0);
        // No more pressure: the rest of the run evicts nothing.
        await admin.config('SET', 'maxmemory', '0');
      }),
    );
  });
});

describe('a client that cannot run scripts', () => {
  it('an ioredis or node-redis connection in subscriber mode is a ConfigurationError for the budget and the quota store (before: every call was refused as if Redis were down, for ever)', async () => {
    const server = await startRedis();
    try {
      const sub = client(server.url);
      await sub.subscribe('news');
      let thrown: unknown;
      try {
        new RedisBudgetStore({ client: sub });
      } catch (error) {
        thrown = error;
      }
      expect(isConfigurationError(thrown) && /subscriber mode/.test(thrown.message)).toBe(true);
      // The quota store runs the same check (before: it took the connection and saw Redis down for ever).
      expect(() => new RedisQuotaStore({ client: sub })).toThrow(/RedisQuotaStore\.client.*subscriber mode/);
      const { createClient } = await import('redis');
      const node = createClient({ url: server.url });
      await node.connect();
      try {
        await node.subscribe('news', () => undefined);
        expect(() => new RedisBudgetStore({ client: node })).toThrow(/subscriber mode/);
        expect(() => new RedisQuotaStore({ client: node })).toThrow(/subscriber mode/);
      } finally {
        node.destroy();
      }
      // The same connection unsubscribed works: charged 100 tokens, committed once, released at close.
      await sub.unsubscribe('news');
      const store = new RedisBudgetStore({ client: sub, keyPrefix: 'sub:' });
      expect(await callUntilRefused(store, 'sub', 1)).toEqual({ admitted: 1, unavailable: 0 });
      expect(await store.close()).toEqual({ complete: true, undelivered: [] });
      expect(await budgetInRedis(server.url, 'sub:', 'sub')).toEqual({ used: 100, leased: 0, counters: 1 });
    } finally {
      await server.stop();
    }
  });
});
