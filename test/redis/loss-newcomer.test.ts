import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { ReservationEntry } from '../../src/budgets/index.js';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import { isBudgetStoreUnavailableError } from '../../src/errors/budget-store-unavailable-error.js';
import { waitFor } from '../helpers/processes.js';
import { useRedis } from './use-redis.js';
import { budgetInRedis, sleep } from './fleet-fixture.js';
import { dayEntry, units } from './day-entry.js';

// Redis loses a counter (FLUSHALL) while a process (A) that used 950,000 of a 1,000,000 limit is
// live. Live holders write back what they saw at their next script (a flush or renewal), but a
// process new to the counter (C) that asks first finds it empty and cannot tell a loss from a
// fresh counter. Before: C was leased a generous slice (1/16 of the whole limit: 62,500 tokens,
// topped up to 120,093 at its first flush) against the emptied counter, and went on admitting
// from it after A wrote its usage back: the fleet admitted 1,075,000 against 1,000,000 (75,000
// over; 70,107 past the limit plus A's slice at the loss). Now a counter created while its budget's
// marker is missing (gone with the FLUSHALL) or younger than half a slice TTL is provisional until
// then and leases a sixteenth of the usual slice (3,906 tokens here),
// so what C admits against the emptied counter is bounded by that, plus the calls it makes
// before A writes back: 961,000 admitted.

const LIMIT = 1_000_000;
const CALL = 1_000;
const entry = (budget: string): ReservationEntry => dayEntry(budget, LIMIT, CALL);
// Clean slices renew every 10 s (a third of sliceTtlMs): A writes back only when it next commits.
const settings = { flushIntervalMs: 50, sliceTtlMs: 30_000, idempotencyMs: 120_000, idleReturnMs: 600_000, closeTimeoutMs: 10_000 };

const redis = useRedis(['--appendonly', 'no']);
const client = (): Redis => redis.client();

let n = 0;
/** Calls of 1,000 tokens (each committed in full) until the first one not admitted (refused, or store-unavailable while the counter recovers) or `max` were admitted. Returns how many were admitted. */
async function callWhileAdmitted(store: RedisBudgetStore, budget: string, max: number): Promise<number> {
  let admitted = 0;
  while (admitted < max) {
    const e = entry(budget);
    const id = `nc${n++}`;
    try {
      if (!(await store.reserve({ id, entries: [e], now: Date.now(), leaseMs: 60_000 })).admitted) break;
    } catch (error) {
      if (!isBudgetStoreUnavailableError(error)) throw error;
      break;
    }
    store.commit({ id, entries: [{ key: e.key, budget, actual: units(CALL), windowEnd: e.windowEnd }], now: Date.now() });
    admitted++;
  }
  return admitted;
}

const flushed = (store: RedisBudgetStore) => waitFor('the store to flush', async () => (store.stats().pendingCommits === 0 ? true : undefined), 10_000, 10);

describe('a process new to a counter Redis just lost, asking first', () => {
  it('is leased only a provisional slice until the live process has written its usage back: the fleet stays within the limit', async () => {
    // W starts the counter (1,000 charged, its slice given back) with a TTL that makes it
    // provisional for 150 ms only, so that A's slices are full-sized by the time it calls.
    const w = new RedisBudgetStore({ client: client(), keyPrefix: 'newcomer:', ...settings, sliceTtlMs: 300, idempotencyMs: 600 });
    expect(await callWhileAdmitted(w, 'nc', 1)).toBe(1);
    expect(await w.close()).toEqual({ complete: true, undelivered: [] });
    await sleep(300);
    const a = new RedisBudgetStore({ client: client(), keyPrefix: 'newcomer:', ...settings });
    const c = new RedisBudgetStore({ client: client(), keyPrefix: 'newcomer:', ...settings });
    // A: 949 calls, 950,000 committed in all and flushed; its slice stays live.
    expect(await callWhileAdmitted(a, 'nc', 949)).toBe(949);
    await flushed(a);
    const before = await budgetInRedis(redis.server.url, 'newcomer:', 'nc');
    expect(before.used).toBe(950_000);
    await client().flushall();
    // C asks first: one call (1,000 charged), against the emptied counter.
    expect(await callWhileAdmitted(c, 'nc', 1)).toBe(1);
    await flushed(c);
    const slice = await budgetInRedis(redis.server.url, 'newcomer:', 'nc');
    // A commits one call from its slice: its flush finds the loss and reports its 951,000 again.
    expect(await callWhileAdmitted(a, 'nc', 1)).toBe(1);
    await waitFor('A to find the loss', async () => ((a.stats().events.counters_lost ?? 0) > 0 ? true : undefined), 10_000, 10);
    await flushed(a);
    // Both call until Redis gives them no more (the counter recovers: no new room for 15 s).
    const cAfter = await callWhileAdmitted(c, 'nc', 1_000);
    const aAfter = await callWhileAdmitted(a, 'nc', 1_000);
    expect(await a.close()).toEqual({ complete: true, undelivered: [] });
    expect(await c.close()).toEqual({ complete: true, undelivered: [] });
    const after = await budgetInRedis(redis.server.url, 'newcomer:', 'nc');
    const admitted = (950 + 1 + aAfter + 1 + cAfter) * CALL;
    // Charged: every admitted call once but W's 1,000 (its holder had ended: nobody reports it
    // again; A's floor counts it against the limit); released: every slice.
    expect(after).toEqual({ used: admitted - CALL, leased: 0, counters: 1 });
    // C's slice against the emptied counter, leased at its call (3,906: a sixteenth of 1/16 of
    // the room) and topped up at its flush by as much again; before: 62,500, then 120,000+.
    expect(slice.leased).toBeLessThanOrEqual(2 * Math.floor(LIMIT / 16 / 16));
    // C admits after the loss no more than that slice.
    expect(cAfter * CALL).toBeLessThanOrEqual(slice.leased);
    // Admitted: at most the limit plus A's slice at the loss (admitted from locally; Redis no
    // longer counted it): 961,000 measured. Before: 1,075,000 against 1,004,893 (C admitted 120
    // calls after A wrote its usage back, from a slice of 120,093).
    expect(admitted).toBeLessThanOrEqual(LIMIT + before.leased);
  });

  it('a fleet using a budget for the first time (no marker yet: provisional) is refused nothing: the provisional slices cost round trips, not calls', async () => {
    const c = new RedisBudgetStore({ client: client(), keyPrefix: 'fresh:', ...settings });
    // 200 calls, 200,000 tokens of 1,000,000: all admitted, none refused or store-unavailable.
    expect(await callWhileAdmitted(c, 'fresh', 200)).toBe(200);
    const stats = c.stats();
    expect(await c.close()).toEqual({ complete: true, undelivered: [] });
    // Charged: 200,000 once; released: the slice.
    expect(await budgetInRedis(redis.server.url, 'fresh:', 'fresh')).toEqual({ used: 200_000, leased: 0, counters: 1 });
    expect(stats.events.refused).toBe(0);
    expect(stats.events.unavailable_admissions).toBe(0);
    // A slice of 3,906 serves 3 calls: about 70 round trips for 200 calls (before: 4 slices of 1/16).
    expect(stats.events.round_trips).toBeLessThanOrEqual(80);
  });
});
