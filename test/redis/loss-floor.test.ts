import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { ReservationEntry } from '../../src/budgets/index.js';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import { isBudgetStoreUnavailableError } from '../../src/errors/budget-store-unavailable-error.js';
import { waitFor } from '../helpers/processes.js';
import { useRedis } from './use-redis.js';
import { budgetInRedis, sleep } from './fleet-fixture.js';
import { dayEntry, units } from './day-entry.js';

// Redis loses a counter (FLUSHALL) after one process (A) had used most of the budget and given
// its slice back (idle), while another (B) is live and had seen A's usage. Before: B's loss
// detection protected only B's own leases (against the most usage B had seen); A, leasing anew
// with nothing seen, was leased the whole limit again once the recovery ended: 5,000 + 100
// committed before, then 9,900 more, against a 10,000 limit. Now the most usage a holder had seen
// is written to the counter when it finds Redis below it, and every process leases against it.

const LIMIT = 10_000;
const entry = (amount: number): ReservationEntry => dayEntry('floor', LIMIT, amount);

const redis = useRedis(['--appendonly', 'no']);
const client = (): Redis => redis.client();

let n = 0;
/** Calls of `amount` (committed in full) until one is refused for the limit or `max` were admitted; store-unavailable refusals (recovery) are retried for at most 20 s. */
async function callUntilRefused(store: RedisBudgetStore, amount: number, max: number): Promise<number> {
  let admitted = 0;
  const until = Date.now() + 20_000;
  while (admitted < max && Date.now() < until) {
    const e = entry(amount);
    const id = `f${n++}`;
    try {
      if (!(await store.reserve({ id, entries: [e], now: Date.now(), leaseMs: 60_000 })).admitted) break;
    } catch (error) {
      if (!isBudgetStoreUnavailableError(error)) throw error;
      await sleep(50);
      continue;
    }
    store.commit({ id, entries: [{ key: e.key, budget: 'floor', actual: units(amount), windowEnd: e.windowEnd }], now: Date.now() });
    admitted += amount;
  }
  return admitted;
}

describe('a lost counter, the usage of a slice given back before the loss', () => {
  it('is not leased again to the process that had given it back, while a live process remembers it', async () => {
    const settings = { keyPrefix: 'floor:', flushIntervalMs: 50, sliceTtlMs: 3_000, idempotencyMs: 60_000, closeTimeoutMs: 10_000 };
    const admin = client();
    // A uses 5,000 and gives its slice back after 300 ms idle; B stays live.
    const a = new RedisBudgetStore({ client: client(), ...settings, idleReturnMs: 300 });
    const b = new RedisBudgetStore({ client: client(), ...settings, idleReturnMs: 600_000 });
    let admitted = await callUntilRefused(a, 500, 5_000);
    await waitFor('A to give its slice back', async () => (a.stats().slices === 0 && a.stats().pendingCommits === 0 ? true : undefined), 20_000, 20);
    // B's call is answered with A's 5,000 (what B has seen: 5,100).
    admitted += await callUntilRefused(b, 100, 100);
    await waitFor('B to flush', async () => (b.stats().pendingCommits === 0 ? true : undefined), 10_000, 20);
    const before = await budgetInRedis(redis.server.url, 'floor:', 'floor');
    expect(before.used).toBe(5_100);
    await admin.flushall();
    // B renews (its call's slice is live): it finds the loss.
    await waitFor('B to find the loss', async () => ((b.stats().events.counters_lost ?? 0) > 0 ? true : undefined), 20_000, 20);
    // A calls until refused for the limit, then B.
    admitted += await callUntilRefused(a, 100, 20_000);
    admitted += await callUntilRefused(b, 100, 20_000);
    expect(await a.close()).toEqual({ complete: true, undelivered: [] });
    expect(await b.close()).toEqual({ complete: true, undelivered: [] });
    // Admitted: at most the limit plus B's slice at the loss (A held none). Before: 15,000 and more.
    expect(admitted).toBeLessThanOrEqual(LIMIT + before.leased);
    // Committed: what was admitted after the loss plus B's own 100 (reported again); A's 5,000
    // before the loss is gone from Redis's usage (its holder had ended), but not from the limit.
    const after = await budgetInRedis(redis.server.url, 'floor:', 'floor');
    expect(after.leased).toBe(0);
    expect(after.used).toBe(admitted - 5_000);
  });
});
