import { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import type { ReservationEntry } from '../../src/budgets/index.js';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import { PROBE } from '../../src/budgets/redis/scripts.js';
import { waitFor } from '../helpers/processes.js';
import { useRedis } from './use-redis.js';
import { budgetInRedis, sleep } from './fleet-fixture.js';
import { dayEntry } from './day-entry.js';

// `round_trips` (bedrock_finops.budget.store.events) and the round-trip histogram say what Redis
// work the store causes. Before: probes (one per silent part of Redis per tick while it is
// unreachable), pruning and the eviction-policy check reached Redis uncounted, so a process
// probing a busy server all along reported no round trips at all for it.

// A script running longer than 200 ms makes Redis answer every other command BUSY until it ends.
const redis = useRedis(['--busy-reply-threshold', '200']);
const client = (): Redis => redis.client();

const entry = (amount: number): ReservationEntry => dayEntry('trips', 10_000, amount);

describe('the round-trip count', () => {
  it('counts every script the store sends: budget scripts, probes while Redis answers BUSY, pruning and the policy check', async () => {
    const own = client();
    // Every script the store sends starts with one EVALSHA (an EVAL after NOSCRIPT is the same round trip).
    const evalsha = vi.spyOn(own, 'evalsha');
    const sent = (sha?: string): number => evalsha.mock.calls.filter((c) => sha === undefined || c[0] === sha).length;
    const store = new RedisBudgetStore({ client: own, keyPrefix: 'trips:', flushIntervalMs: 50, storeTimeoutMs: 2_000, retainMs: 200, closeTimeoutMs: 5_000 });
    const trips: { operation: string; ok: boolean }[] = [];
    store.observe({ roundTrip: (_seconds, operation, ok) => trips.push({ operation, ok }) });
    // One call: charged 10 tokens, committed once.
    const e = entry(10);
    expect((await store.reserve({ id: 't1', entries: [e], now: Date.now(), leaseMs: 60_000 })).admitted).toBe(true);
    store.commit({ id: 't1', entries: [{ key: e.key, budget: 'trips', actual: e.amounts, windowEnd: e.windowEnd }], now: Date.now() });
    // Another client's script spins 1 s: the store's read is answered BUSY, and each tick probes.
    const slow = client().eval("local t = redis.call('TIME') local s = t[1] * 1000000 + t[2] while true do t = redis.call('TIME') if t[1] * 1000000 + t[2] - s > 1000000 then return 1 end end", 0);
    await sleep(300);
    await expect(store.read([{ key: e.key, budget: 'trips' }], Date.now())).rejects.toThrow(/BUSY/);
    expect(await slow).toBe(1);
    await waitFor('the store to report Redis reachable', async () => (store.stats().unavailable ? undefined : true), 10_000, 20);
    // Only a probe told it so (before: no probe was counted, although at least one was sent).
    expect(sent(PROBE.sha)).toBeGreaterThanOrEqual(1);
    expect(trips.filter((t) => t.operation === 'probe').length).toBeGreaterThanOrEqual(1);
    // Pruning runs every retainMs (200 ms): wait for one.
    await waitFor('a prune', async () => (trips.some((t) => t.operation === 'prune') ? true : undefined), 10_000, 20);
    expect(await store.close()).toEqual({ complete: true, undelivered: [] });
    // Every script sent has ended (pruning may still be on its way when close() resolves).
    await waitFor('every script to end', async () => (store.stats().events.round_trips === sent() ? true : undefined), 5_000, 20).catch(() => undefined);
    const events = store.stats().events;
    // Recorded: as many round trips as scripts sent, each also in the histogram (before: the
    // probes, prunes and the policy check were missing from both).
    expect(events.round_trips).toBe(sent());
    expect(trips.length).toBe(events.round_trips);
    const probes = trips.filter((t) => t.operation === 'probe');
    expect(probes.length).toBe(sent(PROBE.sha));
    expect(probes.length).toBeGreaterThanOrEqual(1);
    // At least one probe was answered BUSY (a failed round trip), and the last one answered.
    expect(probes.some((t) => !t.ok)).toBe(true);
    expect(probes.some((t) => t.ok)).toBe(true);
    expect(trips.filter((t) => t.operation === 'policy')).toEqual([{ operation: 'policy', ok: true }]);
    // Charged in Redis: the 10 tokens once; released: the slice.
    expect(await budgetInRedis(redis.server.url, 'trips:', 'trips')).toEqual({ used: 10, leased: 0, counters: 1 });
    evalsha.mockRestore();
  });
});
