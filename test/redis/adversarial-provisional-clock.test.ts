import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import { waitFor } from '../helpers/processes.js';
import { useRedis } from './use-redis.js';
import { budgetInRedis, sleep } from './fleet-fixture.js';
import { dayCall, type DayCallOutcome } from './day-entry.js';

// The lease script keeps two deadlines in a counter by Redis's clock (TIME): `pv` (until when a
// counter it created is provisional: slices a sixteenth of the usual share) and `rcv` (until when a
// counter Redis lost is recovering: no new room). Each is set half a slice TTL ahead. Redis's TIME
// is the wall clock: when it steps back (NTP correcting a clock that ran ahead, a VM restored),
// a deadline written before the step lies that much further ahead. Here the step is applied as
// the state it leaves: the field an hour ahead of Redis's clock. Before, the counter stayed
// provisional (or recovering) for that hour: 16 times the round trips, or every call needing room
// refused as store-unavailable for an hour. Now a deadline further ahead than half of the slice
// TTL of the process asking is taken as a step and counted from Redis's clock again.

const LIMIT = 1_000_000;
const CALL = 1_000;
const HOUR = 3_600_000;
const settings = { flushIntervalMs: 50, sliceTtlMs: 2_000, idempotencyMs: 120_000, idleReturnMs: 600_000, closeTimeoutMs: 10_000 };

const redis = useRedis(['--appendonly', 'no']);
const client = (): Redis => redis.client();

/** One call of 1,000 tokens, committed in full when admitted. */
const call = (store: RedisBudgetStore, budget: string): Promise<DayCallOutcome> => dayCall(store, budget, LIMIT, CALL);

/** The counter hash of `budget` under `prefix` (one window). */
async function counterKey(prefix: string, budget: string): Promise<string> {
  const keys = await client().keys(`${prefix}{${budget}}:c:*`);
  expect(keys).toHaveLength(1);
  return keys[0] as string;
}

/** Moves `field` of the counter an hour ahead of Redis's clock: what a step back of the clock by an hour leaves. */
async function stepBack(key: string, field: 'pv' | 'rcv'): Promise<void> {
  const r = client();
  const [s, us] = await r.time();
  await r.hset(key, field, String(Number(s) * 1000 + Math.floor(Number(us) / 1000) + HOUR));
}

const flushed = (store: RedisBudgetStore) => waitFor('the store to flush', async () => (store.stats().pendingCommits === 0 ? true : undefined), 10_000, 10);

describe("a step back of Redis's clock", () => {
  it('does not keep a lost counter recovering (every call needing room refused) for the length of the step', async () => {
    const a = new RedisBudgetStore({ client: client(), keyPrefix: 'ck-rcv:', ...settings });
    // A: 10 calls, 10,000 committed and flushed.
    for (let i = 0; i < 10; i++) expect(await call(a, 'rcv')).toBe('admitted');
    await flushed(a);
    await client().flushall();
    // A's next script finds the loss and marks the counter recovering for 1 s (half of 2 s).
    expect(await call(a, 'rcv')).toBe('admitted');
    await waitFor('A to find the loss', async () => ((a.stats().events.counters_lost ?? 0) > 0 ? true : undefined), 10_000, 10);
    await flushed(a);
    await stepBack(await counterKey('ck-rcv:', 'rcv'), 'rcv');
    // Two recovery periods later A has long reported its usage again; calls needing room are
    // leased it. Before: 40 of 40 'unavailable' (the counter recovering for the hour).
    await sleep(2_000);
    const outcomes: DayCallOutcome[] = [];
    for (let i = 0; i < 40; i++) outcomes.push(await call(a, 'rcv'));
    expect(outcomes.filter((o) => o !== 'admitted')).toEqual([]);
    expect(await a.close()).toEqual({ complete: true, undelivered: [] });
    // Charged: 51 calls once each (A's 11 before the step reported again after the loss); released: every slice.
    expect(await budgetInRedis(redis.server.url, 'ck-rcv:', 'rcv')).toEqual({ used: 51 * CALL, leased: 0, counters: 1 });
  });

  it('does not keep a new counter provisional (a sixteenth of the usual slice) for the length of the step', async () => {
    const a = new RedisBudgetStore({ client: client(), keyPrefix: 'ck-pv:', ...settings });
    expect(await call(a, 'pv')).toBe('admitted');
    await flushed(a);
    await stepBack(await counterKey('ck-pv:', 'pv'), 'pv');
    // One renewal reads the deadline (and, now, counts it from Redis's clock: 1 s), then past it.
    expect(await call(a, 'pv')).toBe('admitted');
    await flushed(a);
    await sleep(1_500);
    const before = a.stats().events.round_trips ?? 0;
    // 200 calls of 1,000 against 1,000,000: full slices (1/16 of the room, 62 calls each) serve
    // them in a handful of round trips; provisional ones (3,875 tokens: 3 calls) take ~70.
    for (let i = 0; i < 200; i++) expect(await call(a, 'pv')).toBe('admitted');
    const trips = (a.stats().events.round_trips ?? 0) - before;
    expect(await a.close()).toEqual({ complete: true, undelivered: [] });
    expect(await budgetInRedis(redis.server.url, 'ck-pv:', 'pv')).toEqual({ used: 202 * CALL, leased: 0, counters: 1 });
    // Measured: 53 before (provisional for the hour), 3 now.
    expect(trips).toBeLessThanOrEqual(20);
  });
});
