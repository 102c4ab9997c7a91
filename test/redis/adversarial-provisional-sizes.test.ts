import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import { useRedis } from './use-redis.js';
import { budgetInRedis } from './fleet-fixture.js';
import { dayCall, type DayCallOutcome } from './day-entry.js';

// A provisional counter (created by the lease script less than half a slice TTL ago) leases a
// sixteenth of the usual share: 3,906 tokens of a fresh 1,000,000 limit. Calls bigger than that,
// and many calls arriving at once, must still be served by what they ask for (the script's `want`):
// nothing refused or left waiting for the provisional period to end, one script for a burst.

const LIMIT = 1_000_000;
const settings = { flushIntervalMs: 50, sliceTtlMs: 30_000, idempotencyMs: 120_000, idleReturnMs: 600_000, closeTimeoutMs: 10_000 };

const redis = useRedis(['--appendonly', 'no']);
const client = (): Redis => redis.client();

const call = (store: RedisBudgetStore, budget: string, amount: number): Promise<DayCallOutcome> => dayCall(store, budget, LIMIT, amount);

describe('a provisional counter', () => {
  it('admits calls far bigger than its slices, exactly up to the limit', async () => {
    const a = new RedisBudgetStore({ client: client(), keyPrefix: 'sizes:', ...settings });
    const b = new RedisBudgetStore({ client: client(), keyPrefix: 'sizes:', ...settings });
    // 400,000 then 500,000 (each 100 times a provisional slice), from two processes, then 100,000
    // fits exactly and one token more does not: refused for the limit, not store-unavailable.
    expect(await call(a, 'big', 400_000)).toBe('admitted');
    expect(await call(b, 'big', 500_000)).toBe('admitted');
    expect(await call(a, 'big', 100_000)).toBe('admitted');
    expect(await call(b, 'big', 1)).toBe('refused');
    expect(await a.close()).toEqual({ complete: true, undelivered: [] });
    expect(await b.close()).toEqual({ complete: true, undelivered: [] });
    // Charged: 1,000,000 once; released: every slice.
    expect(await budgetInRedis(redis.server.url, 'sizes:', 'big')).toEqual({ used: LIMIT, leased: 0, counters: 1 });
  });

  it('serves a burst of 50 calls arriving at once with one script, however small its slices', async () => {
    const a = new RedisBudgetStore({ client: client(), keyPrefix: 'burst:', ...settings });
    // 50 calls of 2,000 (100,000: 25 provisional slices) in the same turn of the event loop.
    const outcomes = await Promise.all(Array.from({ length: 50 }, () => call(a, 'burst', 2_000)));
    expect(outcomes.filter((o) => o !== 'admitted')).toEqual([]);
    const leases = a.stats().events.round_trips ?? 0;
    expect(await a.close()).toEqual({ complete: true, undelivered: [] });
    expect(await budgetInRedis(redis.server.url, 'burst:', 'burst')).toEqual({ used: 100_000, leased: 0, counters: 1 });
    // One lease for the 50 (sized by what they wanted), plus at most a few flushes (every 50 ms).
    expect(leases).toBeLessThanOrEqual(5);
  });
});
