import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReservationEntry } from '../../src/budgets/index.js';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import { isBudgetStoreUnavailableError } from '../../src/errors/budget-store-unavailable-error.js';
import { waitFor } from '../helpers/processes.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { budgetInRedis, sleep } from './fleet-fixture.js';
import { dayEntry, units } from './day-entry.js';

// `stats().unavailable` (the `bedrock_finops.budget.store.unavailable` gauge) must say what is
// true now. A platform team reads it as "Redis is unreachable from this process": 1 while it is,
// 0 soon after it answers again, also in a process that has no budget work going on.

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server.stop();
});

const entry = (budget: string, limit: number, amount: number): ReservationEntry => dayEntry(budget, limit, amount);

describe('stats().unavailable tells the truth about now', () => {
  // A client with a command timeout (a common production setting): a read during a pause
  // (SIGSTOP) fails, which marks Redis unreachable. Before: nothing else reached Redis from an
  // idle process, so after SIGCONT the store reported Redis unreachable for as long as the
  // process stayed idle. Now a probe (one tiny script per unreachable part, each maintenance
  // tick) brings it back.
  it('an idle process whose read failed during a pause reports Redis reachable again after SIGCONT, and unreachable while it is still paused', async () => {
    const redis = new Redis(server.url, { maxRetriesPerRequest: null, commandTimeout: 150 });
    redis.on('error', () => undefined);
    const store = new RedisBudgetStore({ client: redis, keyPrefix: 'truth:', storeTimeoutMs: 100, flushIntervalMs: 50, closeTimeoutMs: 2_000 });
    try {
      const e = entry('idle', 1_000, 10);
      expect(store.stats().unavailable).toBe(false);
      server.pause();
      try {
        await expect(store.read([{ key: e.key, budget: 'idle' }], Date.now())).rejects.toSatisfy(isBudgetStoreUnavailableError);
        // The read's script fails at the client's command timeout: Redis is marked unreachable.
        await waitFor('the failed read to mark Redis unreachable', async () => (store.stats().unavailable ? true : undefined), 5_000, 10);
        // Still paused for several maintenance ticks: the probes go unanswered, so it stays unreachable.
        await sleep(400);
        expect(store.stats().unavailable).toBe(true);
      } finally {
        server.resume();
      }
      // Before: still true 10 s later (nothing asked Redis).
      await waitFor('the store to report Redis reachable', async () => (store.stats().unavailable ? undefined : true), 10_000, 20);
      expect(store.stats().events.errors).toBeGreaterThanOrEqual(1);
      // Then one call: charged 10 tokens, committed once; released: its slice at close.
      expect((await store.reserve({ id: 'i1', entries: [e], now: Date.now(), leaseMs: 60_000 })).admitted).toBe(true);
      store.commit({ id: 'i1', entries: [{ key: e.key, budget: 'idle', actual: units(10), windowEnd: e.windowEnd }], now: Date.now() });
      expect(await store.close()).toEqual({ complete: true, undelivered: [] });
      expect(await budgetInRedis(server.url, 'truth:', 'idle')).toEqual({ used: 10, leased: 0, counters: 1 });
    } finally {
      server.resume();
      await store.close();
      redis.disconnect();
    }
  }, 30_000);

  // The same for a call refused because its lease script failed: no slice, nothing in flight,
  // so no flush would ever be sent for it.
  it('a process whose only call was refused store-unavailable during a pause reports Redis reachable again after SIGCONT', async () => {
    const redis = new Redis(server.url, { maxRetriesPerRequest: null, commandTimeout: 150 });
    redis.on('error', () => undefined);
    const store = new RedisBudgetStore({ client: redis, keyPrefix: 'truth2:', storeTimeoutMs: 1_000, flushIntervalMs: 50, idleReturnMs: 50 });
    try {
      const e = entry('refused', 1_000, 10);
      server.pause();
      try {
        await expect(store.reserve({ id: 'r1', entries: [e], now: Date.now(), leaseMs: 60_000 })).rejects.toSatisfy(isBudgetStoreUnavailableError);
        expect(store.stats().unavailable).toBe(true);
      } finally {
        server.resume();
      }
      // Before: still true 10 s later.
      await waitFor('the store to report Redis reachable', async () => (store.stats().unavailable ? undefined : true), 10_000, 20);
      // Charged and committed: nothing (the refused call reserved nothing).
      expect(await store.close()).toEqual({ complete: true, undelivered: [] });
      expect((await budgetInRedis(server.url, 'truth2:', 'refused')).used).toBe(0);
    } finally {
      server.resume();
      await store.close();
      redis.disconnect();
    }
  }, 30_000);

  // The refused call's lease script failed at the client (command timeout) but was already on
  // the wire: Redis ran it at SIGCONT and leased a slice nobody was told of. Before: that room
  // stayed leased until the slice's TTL (sliceTtlMs, 30 s here), also after close() reported
  // everything delivered; the fleet could not use it meanwhile.
  it('a slice leased by a script that failed at the client is given back at close()', async () => {
    const redis = new Redis(server.url, { maxRetriesPerRequest: null, commandTimeout: 150 });
    redis.on('error', () => undefined);
    const store = new RedisBudgetStore({ client: redis, keyPrefix: 'truth3:', storeTimeoutMs: 1_000, flushIntervalMs: 10_000, sliceTtlMs: 30_000 });
    try {
      const e = entry('ghost', 1_000_000, 10);
      // Another budget first, so Redis has the script cached (EVALSHA runs it when the server goes on).
      const warm = entry('warm', 1_000_000, 10);
      expect((await store.reserve({ id: 'w1', entries: [warm], now: Date.now(), leaseMs: 60_000 })).admitted).toBe(true);
      store.commit({ id: 'w1', entries: [{ key: warm.key, budget: 'warm', actual: units(10), windowEnd: warm.windowEnd }], now: Date.now() });
      server.pause();
      try {
        await expect(store.reserve({ id: 'g1', entries: [e], now: Date.now(), leaseMs: 60_000 })).rejects.toSatisfy(isBudgetStoreUnavailableError);
      } finally {
        server.resume();
      }
      // Redis ran the script once it went on: it leased a slice (1/16 of the room).
      await waitFor('the late script to lease a slice', async () => ((await budgetInRedis(server.url, 'truth3:', 'ghost')).leased > 0 ? true : undefined), 10_000, 20);
      expect(await store.close()).toEqual({ complete: true, undelivered: [] });
      // Charged and committed: nothing on ghost, 10 tokens on warm; released: both slices, the one nobody was told of too (before: 62,500 tokens stayed leased).
      expect(await budgetInRedis(server.url, 'truth3:', 'ghost')).toEqual({ used: 0, leased: 0, counters: 1 });
      expect(await budgetInRedis(server.url, 'truth3:', 'warm')).toEqual({ used: 10, leased: 0, counters: 1 });
    } finally {
      server.resume();
      await store.close();
      redis.disconnect();
    }
  }, 30_000);
});
