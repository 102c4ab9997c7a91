import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import { waitFor } from '../helpers/processes.js';
import { useRedis } from './use-redis.js';
import { budgetInRedis, sleep } from './fleet-fixture.js';
import { busyLanes, dayCall, type DayCallOutcome } from './day-entry.js';

// A FLUSHALL takes the budget's marker with the counters, so a process new to the budget cannot
// tell the emptied counter from a first use: the counter is provisional (slices a sixteenth of the
// usual share) for half a slice TTL. That bounds each slice, not what a busy newcomer admits: it
// renews its small slices as fast as it calls, while a live process whose slice is idle writes its
// usage back only at its next renewal (a third of the TTL). `provisionalCapFraction` caps what a
// provisional counter holds in all (usage plus leased room) until the period ends.

const LIMIT = 1_000_000;
const CALL = 1_000;
// A 3 s slice TTL: A's idle slice renews (and writes back) about every second; provisional for 1.5 s.
const settings = { flushIntervalMs: 50, sliceTtlMs: 3_000, idempotencyMs: 120_000, idleReturnMs: 600_000, closeTimeoutMs: 10_000 };

const redis = useRedis(['--appendonly', 'no']);
const client = (): Redis => redis.client();

const call = (store: RedisBudgetStore, budget: string): Promise<DayCallOutcome> => dayCall(store, budget, LIMIT, CALL);

/** `lanes` calls in flight until `stop()` or until a lane's call is not admitted; returns how many were admitted and how each lane ended. */
const busy = (store: RedisBudgetStore, budget: string, lanes: number, stop: () => boolean): Promise<{ admitted: number; ends: DayCallOutcome[] }> =>
  busyLanes(lanes, stop, () => call(store, budget));

const flushed = (store: RedisBudgetStore) => waitFor('the store to flush', async () => (store.stats().pendingCommits === 0 ? true : undefined), 10_000, 10);

describe('a busy process new to a budget Redis just flushed', () => {
  it('with provisionalCapFraction 0.05, admits at most 5% of the limit against the emptied counter before the live process writes back', async () => {
    const opts = { ...settings, provisionalCapFraction: 0.05 };
    const a = new RedisBudgetStore({ client: client(), keyPrefix: 'busy:', ...opts });
    const c = new RedisBudgetStore({ client: client(), keyPrefix: 'busy:', ...opts });
    // A: 950 calls, 950,000 of 1,000,000 committed and flushed (the first 40,000 within the cap, as
    // the budget's first use is provisional too; the rest after the period); its slice stays live and idle.
    for (let i = 0; i < 40; i++) expect(await call(a, 'busy')).toBe('admitted');
    await sleep(1_600);
    for (let i = 0; i < 910; i++) expect(await call(a, 'busy')).toBe('admitted');
    await flushed(a);
    const before = await budgetInRedis(redis.server.url, 'busy:', 'busy');
    expect(before.used).toBe(950_000);
    await client().flushall();
    // C, 20 calls in flight, until A's renewal has found the loss (and written its 950,000 back).
    const aLost = (): boolean => (a.stats().events.counters_lost ?? 0) > 0;
    const racing = busy(c, 'busy', 20, aLost);
    await waitFor('A to find the loss', async () => (aLost() ? true : undefined), 15_000, 10);
    const { admitted: cBefore, ends } = await racing;
    expect(await a.close()).toEqual({ complete: true, undelivered: [] });
    expect(await c.close()).toEqual({ complete: true, undelivered: [] });
    const admitted = 950_000 + cBefore * CALL;
    // Charged: every admitted call once (A's 950,000 reported again); released: every slice.
    expect(await budgetInRedis(redis.server.url, 'busy:', 'busy')).toEqual({ used: admitted, leased: 0, counters: 1 });
    // C's lanes ended on store-unavailable (the cap), not on the limit. Measured: C admitted 50
    // calls, 1,000,000 in all. Without the cap: 1,000 calls, 1,950,000 against 1,000,000.
    expect(ends.filter((o) => o !== 'unavailable')).toEqual([]);
    expect(cBefore * CALL).toBeLessThanOrEqual(LIMIT * 0.05);
    expect(admitted).toBeLessThanOrEqual(LIMIT + LIMIT * 0.05 + before.leased);
  });

  it('with provisionalCapFraction 0.05, a budget used for the first time admits 5% of its limit at once, the rest after half a slice TTL', async () => {
    const a = new RedisBudgetStore({ client: client(), keyPrefix: 'first:', ...settings, provisionalCapFraction: 0.05 });
    const outcomes: DayCallOutcome[] = [];
    for (let i = 0; i < 60; i++) outcomes.push(await call(a, 'first'));
    // Calls of 1,000 up to 50,000 (committed plus leased) are admitted; the next ones are store-unavailable (onStoreError decides).
    const firstAdmitted = outcomes.filter((o) => o === 'admitted').length;
    await sleep(1_600);
    for (let i = 0; i < 100; i++) expect(await call(a, 'first')).toBe('admitted');
    expect(await a.close()).toEqual({ complete: true, undelivered: [] });
    expect(await budgetInRedis(redis.server.url, 'first:', 'first')).toEqual({ used: (firstAdmitted + 100) * CALL, leased: 0, counters: 1 });
    expect(firstAdmitted).toBeGreaterThanOrEqual(40);
    expect(firstAdmitted).toBeLessThanOrEqual(50);
    expect(outcomes.slice(firstAdmitted)).toEqual(outcomes.slice(firstAdmitted).map(() => 'unavailable'));
  });
});
