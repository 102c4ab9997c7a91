import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import { waitFor } from '../helpers/processes.js';
import { useRedis } from './use-redis.js';
import { budgetInRedis, sleep } from './fleet-fixture.js';
import { busyLanes, dayEntry, entryCall, tenantEntry, type DayCallOutcome } from './day-entry.js';

// A budget's marker (`…{budget}:m`) tells a new counter (full slices) from one Redis may have lost
// (provisional slices, and the opt-in provisionalCapFraction). The marker can outlive a counter
// Redis lost: a restart from a snapshot (RDB) taken before the counter was created keeps the marker
// and the window index as they were, without the counter; a failover to a replica that had not
// received it the same. The window index does not list such a counter, so the counter looked new.

const LIMIT = 1_000_000;
const CALL = 1_000;
// A 3 s slice TTL: A's idle slice renews (and writes back) about every second; provisional for 1.5 s.
const settings = { flushIntervalMs: 50, sliceTtlMs: 3_000, idempotencyMs: 120_000, idleReturnMs: 600_000, closeTimeoutMs: 10_000 };

// No append-only file: a restart loads the last snapshot (SAVE).
const redis = useRedis(['--appendonly', 'no']);
const client = (): Redis => redis.client();

/** One call of 1,000 tokens on `tenant`'s counter of `budget`, committed in full when admitted. */
const call = (store: RedisBudgetStore, budget: string, tenant: string): Promise<DayCallOutcome> => entryCall(store, tenantEntry(dayEntry(budget, LIMIT, CALL), tenant));

/** `lanes` calls in flight until `stop()` or until a lane's call is not admitted; returns how many were admitted. */
const busy = (store: RedisBudgetStore, budget: string, tenant: string, lanes: number, stop: () => boolean): Promise<number> =>
  busyLanes(lanes, stop, () => call(store, budget, tenant)).then((r) => r.admitted);

const flushed = (store: RedisBudgetStore) => waitFor('the store to flush', async () => (store.stats().pendingCommits === 0 ? true : undefined), 10_000, 10);
const lostSeen = (store: RedisBudgetStore): boolean => (store.stats().events.counters_lost ?? 0) > 0;

/**
 * A uses tenant-0 of `budget` (its marker set), then Redis saves a snapshot; after the marker is
 * old, A commits 950 calls on tenant-1 (a counter the snapshot lacks), flushed; its slice stays
 * live and idle. Returns A and what Redis held then.
 */
async function beforeLoss(prefix: string, budget: string, opts: { provisionalCapFraction?: number } = {}) {
  const a = new RedisBudgetStore({ client: client(), keyPrefix: prefix, ...settings, ...opts });
  expect(await call(a, budget, 'tenant-0')).toBe('admitted');
  await flushed(a);
  await client().save();
  await sleep(1_600);
  for (let i = 0; i < 950; i++) expect(await call(a, budget, 'tenant-1')).toBe('admitted');
  await flushed(a);
  const before = await budgetInRedis(redis.server.url, prefix, budget);
  expect(before.used).toBe(951_000);
  return { a, before };
}

describe("a counter Redis lost while its budget's marker survived", () => {
  it('after a restart from a snapshot older than the counter, a busy newcomer stays within provisionalCapFraction', async () => {
    const opts = { provisionalCapFraction: 0.05 };
    const { a, before } = await beforeLoss('snap-cap:', 'snap', opts);
    await redis.server.kill();
    await redis.server.restart();
    const c = new RedisBudgetStore({ client: client(), keyPrefix: 'snap-cap:', ...settings, ...opts });
    const cAdmitted = await busy(c, 'snap', 'tenant-1', 20, () => lostSeen(a));
    await waitFor('A to find the loss', async () => (lostSeen(a) ? true : undefined), 15_000, 10);
    expect(await a.close()).toEqual({ complete: true, undelivered: [] });
    expect(await c.close()).toEqual({ complete: true, undelivered: [] });
    const tenant1 = 950_000 + cAdmitted * CALL;
    // Charged: every admitted call once (A's 950,000 on tenant-1 reported again, its 1,000 on tenant-0 kept by the snapshot); released: every slice.
    expect(await budgetInRedis(redis.server.url, 'snap-cap:', 'snap')).toEqual({ used: tenant1 + CALL, leased: 0, counters: 2 });
    // Measured: C admitted 1,000 calls before (1,000,000: 1,950,000 on tenant-1 against 1,000,000,
    // the counter taken for new: full slices, no cap); 50 now (the marker, set by the server's run
    // before the restart, is set anew: the counter is provisional and capped).
    expect(cAdmitted * CALL).toBeLessThanOrEqual(LIMIT * 0.05);
    expect(tenant1).toBeLessThanOrEqual(LIMIT + LIMIT * 0.05 + before.leased);
  });

  /** C's first call on tenant-1 of `budget` after the loss: the room its slice holds (Redis lost A's). */
  async function firstSlice(prefix: string, budget: string): Promise<{ outcome: DayCallOutcome; leased: number }> {
    const c = new RedisBudgetStore({ client: client(), keyPrefix: prefix, ...settings });
    const outcome = await call(c, budget, 'tenant-1');
    const admin = client();
    const [key] = await admin.keys(`${prefix}{${budget}}:c:*tenant-1*`);
    const leased = Number((await admin.hget(key ?? '', 'l_t')) ?? 0);
    expect(await c.close()).toEqual({ complete: true, undelivered: [] });
    return { outcome, leased };
  }

  // A closes before the loss here (its slice given back): what is measured is C's first slice alone.
  it('after a restart from a snapshot older than the counter, a newcomer is leased a provisional slice', async () => {
    const { a } = await beforeLoss('snap-slice:', 'snap');
    expect(await a.close()).toEqual({ complete: true, undelivered: [] });
    await redis.server.kill();
    await redis.server.restart();
    const { outcome, leased } = await firstSlice('snap-slice:', 'snap');
    expect(outcome).toBe('admitted');
    // A provisional slice: a sixteenth of the usual share (1,000,000 / 16 / 16: 3,906 of room).
    // Before: 62,500 (the usual share: the counter, unlisted in the snapshot's index, taken for new).
    expect(leased).toBeLessThanOrEqual(LIMIT / 16 / 16 + CALL);
  });

  it('deleted by hand with the window index (its marker kept), a newcomer is leased a provisional slice', async () => {
    const { a } = await beforeLoss('idx-slice:', 'idx');
    expect(await a.close()).toEqual({ complete: true, undelivered: [] });
    const admin = client();
    await admin.del('idx-slice:{idx}:w', ...(await admin.keys('idx-slice:{idx}:[cz]:*tenant-1*')));
    const { outcome, leased } = await firstSlice('idx-slice:', 'idx');
    expect(outcome).toBe('admitted');
    // 3,906 of room; before: 62,500 (no index to list it, the marker old: taken for new).
    expect(leased).toBeLessThanOrEqual(LIMIT / 16 / 16 + CALL);
  });

  it('evicted after the window index was (a new counter listed again since), found lost by a newcomer', async () => {
    const { a } = await beforeLoss('idx-part:', 'part');
    const admin = client();
    await admin.del('idx-part:{part}:w');
    // B's new tenant lists itself in a new index; later (the marker old again) tenant-1's counter goes.
    const b = new RedisBudgetStore({ client: client(), keyPrefix: 'idx-part:', ...settings });
    expect(await call(b, 'part', 'tenant-2')).toBe('admitted');
    expect(await b.close()).toEqual({ complete: true, undelivered: [] });
    await sleep(1_600);
    await admin.del(...(await admin.keys('idx-part:{part}:[cz]:*tenant-1*')));
    const { outcome, leased } = await firstSlice('idx-part:', 'part');
    expect(await a.close()).toEqual({ complete: true, undelivered: [] });
    // A's renewals listed tenant-1 again in the new index, so C's first script found it lost:
    // recovering, no room leased (onStoreError decides). Before: a full slice, 62,500 of room
    // against the emptied counter (only a script creating a holder listed a counter).
    expect(outcome).toBe('unavailable');
    expect(leased).toBe(0);
  });
});
