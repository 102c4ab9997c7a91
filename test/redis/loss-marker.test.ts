import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { ReservationEntry } from '../../src/budgets/index.js';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import { waitFor } from '../helpers/processes.js';
import { useRedis } from './use-redis.js';
import { budgetInRedis, sleep } from './fleet-fixture.js';
import { busyLanes, dayEntry, entryCall, tenantEntry, type DayCallOutcome } from './day-entry.js';

// Each budget has a marker key (`…{budget}:m`): when a lease script first found it missing. A
// counter created within half a slice TTL of that may have been lost with it (FLUSHALL, a restart
// without persistence) and is provisional (slices a sixteenth of the usual share); a counter
// created later is a new window or a new `per` value and gets full slices. Before, every counter
// the lease script created was provisional: with per-tenant counters, a round trip every few calls.
// A counter missing while its marker survives (evicted, deleted by hand) is found by the budget's
// window index, which still lists it: the first script, from any process, starts its recovery.

const LIMIT = 1_000_000;
const CALL = 1_000;
const settings = { flushIntervalMs: 50, sliceTtlMs: 30_000, idempotencyMs: 120_000, idleReturnMs: 600_000, closeTimeoutMs: 10_000 };

const redis = useRedis(['--appendonly', 'no']);
const client = (): Redis => redis.client();

/** The `total` counter of `budget` (no window: never pruned). */
function totalEntry(budget: string): ReservationEntry {
  return { ...dayEntry(budget, LIMIT, CALL), key: `${budget}\u0001\u0001total`, windowEnd: Number.POSITIVE_INFINITY };
}

/** One call of 1,000 tokens on `tenant`'s counter of `budget` (its `total` counter for `'total'`), committed in full when admitted. */
const call = (store: RedisBudgetStore, budget: string, tenant = ''): Promise<DayCallOutcome> =>
  entryCall(store, tenant === 'total' ? totalEntry(budget) : tenantEntry(dayEntry(budget, LIMIT, CALL), tenant));

/** `lanes` calls in flight until `stop()` or until a lane's call is not admitted; returns how many were admitted. */
const busy = (store: RedisBudgetStore, budget: string, lanes: number, stop: () => boolean, tenant = ''): Promise<number> =>
  busyLanes(lanes, stop, () => call(store, budget, tenant)).then((r) => r.admitted);

const flushed = (store: RedisBudgetStore) => waitFor('the store to flush', async () => (store.stats().pendingCommits === 0 ? true : undefined), 10_000, 10);
const trips = (store: RedisBudgetStore): number => store.stats().events.round_trips ?? 0;

describe("a budget's marker", () => {
  it('gives a new per value of a budget in use full slices: 200 calls on a new tenant take a handful of scripts, not ~70', async () => {
    // A 1 s slice TTL: the marker is old enough (half of it) after 600 ms.
    const a = new RedisBudgetStore({ client: client(), keyPrefix: 'mk-tenant:', ...settings, sliceTtlMs: 1_000 });
    expect(await call(a, 'per', 'tenant-1')).toBe('admitted');
    await sleep(600);
    const before = trips(a);
    // 200 calls of 1,000 on tenant-2's new counter, 1,000,000 limit: full slices (1/16 of the
    // room, 62 calls each) serve them in about 4 leases; provisional ones (3,906: 3 calls) in ~70.
    for (let i = 0; i < 200; i++) expect(await call(a, 'per', 'tenant-2')).toBe('admitted');
    const scripts = trips(a) - before;
    expect(await a.close()).toEqual({ complete: true, undelivered: [] });
    // Charged: 201 calls once each; released: every slice.
    expect(await budgetInRedis(redis.server.url, 'mk-tenant:', 'per')).toEqual({ used: 201 * CALL, leased: 0, counters: 2 });
    // Measured: 58 before (tenant-2's counter provisional), 4 now.
    expect(scripts).toBeLessThanOrEqual(20);
  });

  it('keeps a counter created just after the marker was lost provisional: a FLUSHALL makes every counter of the budget provisional again', async () => {
    const a = new RedisBudgetStore({ client: client(), keyPrefix: 'mk-flush:', ...settings, sliceTtlMs: 1_000 });
    expect(await call(a, 'flush', 'tenant-1')).toBe('admitted');
    await sleep(600);
    await client().flushall();
    // B, a new process, calls first on tenant-3: the marker, gone with the counters, is set anew.
    // tenant-2 a moment later: its counter is provisional too (the same FLUSHALL may have lost it,
    // with live slices that have not reported yet), though the marker is there again.
    const b = new RedisBudgetStore({ client: client(), keyPrefix: 'mk-flush:', ...settings, sliceTtlMs: 1_000 });
    expect(await call(b, 'flush', 'tenant-3')).toBe('admitted');
    expect(await client().exists('mk-flush:{flush}:m')).toBe(1);
    const before = trips(a);
    for (let i = 0; i < 30; i++) expect(await call(a, 'flush', 'tenant-2')).toBe('admitted');
    const scripts = trips(a) - before;
    expect(await a.close()).toEqual({ complete: true, undelivered: [] });
    expect(await b.close()).toEqual({ complete: true, undelivered: [] });
    // Charged: 32 calls once each (A's tenant-1 slice, live, reports its 1,000 again after the loss); released: every slice.
    expect(await budgetInRedis(redis.server.url, 'mk-flush:', 'flush')).toEqual({ used: 32 * CALL, leased: 0, counters: 3 });
    // Provisional slices (3,906 tokens: 3 calls each): 30 calls need 10 leases; a full slice serves them with 1.
    expect(scripts).toBeGreaterThanOrEqual(8);
  });

  for (const [kind, tenant] of [['day', ''], ['total', 'total']] as const) {
    it(`lets a busy newcomer find a ${kind} counter deleted by hand (its marker kept) through the window index: the fleet stays within the limit`, async () => {
      const prefix = `mk-del-${kind}:`;
      // A 3 s slice TTL: A's clean slice renews (and writes back) about every second.
      const a = new RedisBudgetStore({ client: client(), keyPrefix: prefix, ...settings, sliceTtlMs: 3_000 });
      const c = new RedisBudgetStore({ client: client(), keyPrefix: prefix, ...settings, sliceTtlMs: 3_000 });
      // A: 950 calls, 950,000 of 1,000,000 committed and flushed; its slice stays live and idle.
      for (let i = 0; i < 950; i++) expect(await call(a, 'del', tenant)).toBe('admitted');
      await flushed(a);
      const before = await budgetInRedis(redis.server.url, prefix, 'del');
      expect(before.used).toBe(950_000);
      // The counter's two keys deleted by hand (as an eviction would); the budget's marker and window index stay.
      const admin = client();
      for (const key of await admin.keys(`${prefix}{del}:[cz]:*`)) await admin.del(key);
      // C, new to the counter, 20 calls in flight, until A's renewal has found the loss and written its usage back.
      const aLost = (): boolean => (a.stats().events.counters_lost ?? 0) > 0;
      const racing = busy(c, 'del', 20, aLost, tenant);
      await waitFor('A to find the loss', async () => (aLost() ? true : undefined), 15_000, 10);
      const cBefore = await racing;
      expect(await a.close()).toEqual({ complete: true, undelivered: [] });
      expect(await c.close()).toEqual({ complete: true, undelivered: [] });
      const admitted = (950 + cBefore) * CALL;
      // Charged: every admitted call once (A's 950,000 reported again); released: every slice.
      expect(await budgetInRedis(redis.server.url, prefix, 'del')).toEqual({ used: admitted, leased: 0, counters: 1 });
      // C's first script found the counter lost (listed in the window index, its window not over):
      // it recovers, leasing no new room, so C admitted nothing against the emptied counter.
      // Before: C was leased provisional slices as fast as it called until A wrote back: it admitted
      // 1,000 calls, 1,950,000 in all against 1,000,000 (the total counter, not listed in the
      // index before, the same until the index listed total counters at +inf).
      expect(cBefore).toBe(0);
      expect(admitted).toBeLessThanOrEqual(LIMIT + before.leased);
    });
  }
});
