import { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import type { ReservationEntry } from '../../src/budgets/index.js';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import { PROBE } from '../../src/budgets/redis/scripts.js';
import { isBudgetStoreUnavailableError } from '../../src/errors/budget-store-unavailable-error.js';
import { waitFor } from '../helpers/processes.js';
import { useRedis } from './use-redis.js';
import { budgetInRedis, sleep } from './fleet-fixture.js';
import { dayEntry, units } from './day-entry.js';

// Things that are not a lost counter must not be taken for one: a "lost" counter stops leasing
// room for half of sliceTtlMs (calls needing room follow onStoreError: refused under 'deny'),
// logs an error and counts counters_lost. And a Redis that is busy (a slow script of someone
// else: BUSY) is an outage of the whole server, not a refusal of one budget's keys.

const entry = (budget: string, amount: number, limit = 10_000): ReservationEntry => dayEntry(budget, limit, amount);

// A script running longer than 200 ms makes Redis answer every other command BUSY until it ends.
const redis = useRedis(['--busy-reply-threshold', '200']);
const client = (): Redis => redis.client();

let n = 0;
/** One call on `store`: reserved, then (`commit`) committed in full. Returns whether it was admitted, or 'unavailable'. */
async function call(store: RedisBudgetStore, e: ReservationEntry, commit = true): Promise<{ outcome: boolean | 'unavailable'; id: string }> {
  const id = `fl${n++}`;
  try {
    const r = await store.reserve({ id, entries: [e], now: Date.now(), leaseMs: 600_000 });
    if (r.admitted && commit) store.commit({ id, entries: [{ key: e.key, budget: e.budget, actual: e.amounts, windowEnd: e.windowEnd }], now: Date.now() });
    return { outcome: r.admitted, id };
  } catch (error) {
    if (!isBudgetStoreUnavailableError(error)) throw error;
    return { outcome: 'unavailable', id };
  }
}

describe('no false "lost counter"', () => {
  // Two stores on one budget with different idempotencyMs (two services sharing budgets, a
  // rolling deploy changing the option, two stores in one process). A is cut off from Redis long
  // enough for its slice to expire; B's scripts sweep it. Before: B's sweep gave A's record B's
  // idempotencyMs (6 s), not A's (1 h), so it was deleted while A still counted on it: A's next
  // flush found no record, took the counter for lost (counters_lost, a diag error) and the
  // counter leased no room for 1.5 s: B's call needing room was refused store-unavailable.
  it("a holder whose slice expired while it was cut off, its record swept under another store's shorter idempotencyMs, is not a lost counter", { timeout: 120_000 }, async () => {
    const common = { keyPrefix: 'mixed:', flushIntervalMs: 100, sliceTtlMs: 3_000, sliceFraction: 0.05, closeTimeoutMs: 10_000 };
    const clientA = client();
    const admin = client();
    const a = new RedisBudgetStore({ client: clientA, ...common, idempotencyMs: 3_600_000 });
    const b = new RedisBudgetStore({ client: client(), ...common, idempotencyMs: 6_000 });
    const e = entry('mixed', 100);
    // A: one call in flight (reserved 100, not committed): its slice stays live and renews.
    const held = await call(a, e, false);
    expect(held.outcome).toBe(true);
    const [key] = await admin.keys('mixed:{mixed}:c:*');
    const counter = key ?? '';
    const [holderA] = (await admin.hkeys(counter)).filter((f) => f.startsWith('h:'));
    expect(holderA).toBeDefined();
    let committed = 0;
    let unavailable = 0;
    const bCall = async (amount: number): Promise<void> => {
      const r = await call(b, entry('mixed', amount));
      if (r.outcome === true) committed += amount;
      if (r.outcome === 'unavailable') unavailable++;
    };
    await bCall(100);
    // A is cut off; B goes on (its scripts sweep A's expired slice, then forget A's record).
    clientA.disconnect();
    // B's sweeps find A's slice expired (its record stays, no longer live)…
    const live = async (): Promise<boolean> => ((await admin.hget(counter, holderA ?? '')) ?? '').split(' ')[1] === '1';
    await waitFor(
      "B's sweep to end A's expired slice",
      async () => {
        await bCall(100);
        return (await live()) ? undefined : true;
      },
      60_000,
      300,
    );
    // …and go on past B's idempotencyMs (6 s of Redis time): before, A's record was gone by then.
    const redisNow = async (): Promise<number> => {
      const [s, us] = await admin.time();
      return Number(s) * 1000 + Math.floor(Number(us) / 1000);
    };
    const forgottenBefore = (await redisNow()) + 6_500;
    await waitFor(
      "B's idempotencyMs to pass",
      async () => {
        await bCall(100);
        return (await redisNow()) > forgottenBefore ? true : undefined;
      },
      60_000,
      300,
    );
    await bCall(100);
    // A comes back and renews its slice (its call still in flight).
    await clientA.connect();
    await waitFor('A to renew its slice', async () => ((await admin.hexists(counter, holderA ?? '')) === 1 ? true : undefined), 30_000, 20);
    // Nothing was lost: not counted, and B's call needing more room than its slice is leased it.
    expect(a.stats().events.counters_lost).toBe(0);
    await bCall(2_000);
    expect(unavailable).toBe(0);
    // A's call settles: 100 committed. Everything committed once, every slice given back.
    a.commit({ id: held.id, entries: [{ key: e.key, budget: 'mixed', actual: units(100), windowEnd: e.windowEnd }], now: Date.now() });
    committed += 100;
    expect(await a.close()).toEqual({ complete: true, undelivered: [] });
    expect(await b.close()).toEqual({ complete: true, undelivered: [] });
    expect(b.stats().events.counters_lost).toBe(0);
    expect(await budgetInRedis(redis.server.url, 'mixed:', 'mixed')).toEqual({ used: committed, leased: 0, counters: 1 });
  });
});

describe('no false "lost counter" from pruning', () => {
  // A call in flight across the end of a window (a long stream), while another process with a
  // short retainMs prunes the finished window. Before: the holder's next renewal found its record
  // gone and took the counter for lost (counters_lost, a diag error saying Redis lost a counter).
  // A window that has ended leases nothing new: a missing record there is not a loss.
  it("a counter pruned after its window ended, under a call still in flight, is not a lost counter", async () => {
    const admin = client();
    const common = { keyPrefix: 'prune:', flushIntervalMs: 100, sliceTtlMs: 1_500, closeTimeoutMs: 5_000 };
    const a = new RedisBudgetStore({ client: client(), ...common });
    const b = new RedisBudgetStore({ client: client(), ...common, retainMs: 1 });
    const windowEnd = Date.now() + 1_000;
    const e: ReservationEntry = { key: `pruned\u0001\u0001${windowEnd}`, budget: 'pruned', limits: { tokens: 10_000 }, amounts: units(100), enforce: true, windowEnd };
    // A: a call in flight (100 reserved). B: a call committed (100), so B prunes the budget.
    const held = await call(a, e, false);
    expect(held.outcome).toBe(true);
    expect((await call(b, e)).outcome).toBe(true);
    await waitFor("B's prune to delete the finished window's counter", async () => ((await admin.keys('prune:{pruned}:c:*')).length === 0 ? true : undefined), 20_000, 20);
    // A renews its slice on the deleted counter (its call still in flight).
    await waitFor('A to renew', async () => ((await admin.keys('prune:{pruned}:c:*')).length === 1 ? true : undefined), 20_000, 20);
    await waitFor('A to be answered', async () => (a.stats().unavailable ? undefined : true), 20_000, 20);
    expect(a.stats().events.counters_lost).toBe(0);
    // The call settles (100 committed on the window it was admitted in), every slice given back.
    a.commit({ id: held.id, entries: [{ key: e.key, budget: 'pruned', actual: units(100), windowEnd }], now: Date.now() });
    expect(await a.close()).toEqual({ complete: true, undelivered: [] });
    expect(await b.close()).toEqual({ complete: true, undelivered: [] });
    expect((a.stats().events.counters_lost ?? 0) + (b.stats().events.counters_lost ?? 0)).toBe(0);
  });
});

describe('BUSY (a slow script of someone else) is the whole server busy, not one budget refused', () => {
  // An idle process's read is sent while another client's script runs past
  // busy-reply-threshold: Redis answers it BUSY. Before: BUSY was taken for an error reply about
  // the budget's keys (like NOPERM), which no probe asks about: once the script ended, the idle
  // process reported Redis unavailable for as long as it made no call on that budget.
  it('the unavailable gauge goes back to 0 once the slow script ends, and a call is then admitted', async () => {
    const admin = client();
    const store = new RedisBudgetStore({ client: client(), keyPrefix: 'busy:', storeTimeoutMs: 2_000, flushIntervalMs: 50, closeTimeoutMs: 5_000 });
    const e = entry('busy', 10, 1_000);
    // A read-only script that spins for 1.5 s of Redis time.
    const slow = admin.eval("local t = redis.call('TIME') local s = t[1] * 1000000 + t[2] while true do t = redis.call('TIME') if t[1] * 1000000 + t[2] - s > 1500000 then return 1 end end", 0);
    await sleep(400);
    await expect(store.read([{ key: e.key, budget: 'busy' }], Date.now())).rejects.toThrow(/BUSY/);
    expect(store.stats().unavailable).toBe(true);
    expect(await slow).toBe(1);
    // Before: still true 10 s later.
    await waitFor('the store to report Redis reachable', async () => (store.stats().unavailable ? undefined : true), 10_000, 20);
    // One call: charged 10 tokens, committed once; released: its slice at close.
    const r = await call(store, e);
    expect(r.outcome).toBe(true);
    expect(await store.close()).toEqual({ complete: true, undelivered: [] });
    expect(await budgetInRedis(redis.server.url, 'busy:', 'busy')).toEqual({ used: 10, leased: 0, counters: 1 });
  });

  // Calls refused while Redis answers BUSY at once: each sent a script of its own (before: a
  // flush of the budget BUSY was taken to refuse; then a probe, BUSY coming back in
  // microseconds), so a busy server took a script per call from every process. Now a part is
  // probed at most once per half flushIntervalMs.
  it('calls refused while Redis answers BUSY send at most one probe per half flushIntervalMs, not one each', async () => {
    const admin = client();
    const own = client();
    const store = new RedisBudgetStore({ client: own, keyPrefix: 'busy2:', storeTimeoutMs: 2_000, flushIntervalMs: 100, closeTimeoutMs: 5_000 });
    // A first call leases a slice (1/16 of 1,000): charged 10, committed.
    expect((await call(store, entry('busy2', 10, 1_000))).outcome).toBe(true);
    const evalsha = vi.spyOn(own, 'evalsha');
    const evalText = vi.spyOn(own, 'eval');
    const probes = (): number => evalsha.mock.calls.filter((c) => c[0] === PROBE.sha).length + evalText.mock.calls.filter((c) => c[0] === PROBE.source).length;
    const scripts = (): number => evalsha.mock.calls.length + evalText.mock.calls.length;
    const slow = admin.eval("local t = redis.call('TIME') local s = t[1] * 1000000 + t[2] while true do t = redis.call('TIME') if t[1] * 1000000 + t[2] - s > 1500000 then return 1 end end", 0);
    let done = false;
    void slow.finally(() => { done = true; });
    await sleep(400);
    // Calls needing more than the slice: the first one's script is answered BUSY, the rest are refused at once.
    const t0 = performance.now();
    const probesBefore = probes();
    const scriptsBefore = scripts();
    let refused = 0;
    while (!done) {
      const r = await call(store, entry('busy2', 500, 1_000));
      expect(r.outcome).toBe('unavailable');
      refused++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    const elapsed = performance.now() - t0;
    const sent = scripts() - scriptsBefore;
    expect(refused).toBeGreaterThan(0);
    // At most a probe per 50 ms (before this fix: one per refused call, each answered BUSY at
    // once) and the flush of the first call's usage per 100 ms (maintenance), plus the first
    // call's lease script; before the BUSY fix, a flush script per refused call instead.
    expect(probes() - probesBefore).toBeLessThanOrEqual(1 + Math.ceil(elapsed / 50));
    expect(sent).toBeLessThanOrEqual(3 + Math.ceil(elapsed / 50) + Math.ceil(elapsed / 100));
    evalsha.mockRestore();
    evalText.mockRestore();
    // Redis is back: the gauge says so, and a call is admitted (charged 10, committed once).
    await waitFor('the store to report Redis reachable', async () => (store.stats().unavailable ? undefined : true), 10_000, 20);
    expect((await call(store, entry('busy2', 10, 1_000))).outcome).toBe(true);
    expect(await store.close()).toEqual({ complete: true, undelivered: [] });
    expect(await budgetInRedis(redis.server.url, 'busy2:', 'busy2')).toEqual({ used: 20, leased: 0, counters: 1 });
  });
});
