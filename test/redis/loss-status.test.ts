import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { ReservationEntry } from '../../src/budgets/index.js';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import { bedrockFinOps } from '../../src/index.js';
import { waitFor } from '../helpers/processes.js';
import { useRedis } from './use-redis.js';
import { budgetInRedis } from './fleet-fixture.js';
import { dayEntry, units } from './day-entry.js';

// After Redis lost a counter, admission counts the most usage a live process had seen (and, once
// written back, the usage nobody reports again). `status()` and `check()` read the counter: before,
// they showed Redis's raw usage (what holders had reported anew: 100, then 200) while admission
// counted 6,100, so `check()` said a call of 4,000 tokens would be admitted that admission refuses.

const LIMIT = 10_000;
const CALL = 100;
const BUDGET = 'seen';
const entry = (): ReservationEntry => dayEntry(BUDGET, LIMIT, CALL);
const settings = { keyPrefix: 'status:', flushIntervalMs: 50, sliceTtlMs: 30_000, idempotencyMs: 120_000, idleReturnMs: 600_000, closeTimeoutMs: 10_000 };

const redis = useRedis(['--appendonly', 'no']);
const client = (): Redis => redis.client();

let n = 0;
/** `calls` calls of 100 tokens, each reserved and committed in full; all must be admitted. */
async function spend(store: RedisBudgetStore, calls: number): Promise<void> {
  for (let i = 0; i < calls; i++) {
    const e = entry();
    const id = `st${n++}`;
    expect((await store.reserve({ id, entries: [e], now: Date.now(), leaseMs: 60_000 })).admitted).toBe(true);
    store.commit({ id, entries: [{ key: e.key, budget: BUDGET, actual: units(CALL), windowEnd: e.windowEnd }], now: Date.now() });
  }
}
const flushed = (store: RedisBudgetStore) => waitFor('the store to flush', async () => (store.stats().pendingCommits === 0 ? true : undefined), 10_000, 10);
const usedRead = async (store: RedisBudgetStore): Promise<number> => (await store.read([{ key: entry().key, budget: BUDGET }], Date.now()))[0]?.used.tokens ?? -1;

describe('status() after Redis lost a counter', () => {
  it('shows the usage admission counts (the floor a live process holds, then the usage written back), not Redis’s raw usage, and check() agrees', async () => {
    // A: 6,000 committed, then closed (its holder ended: nobody will report its usage again).
    const a = new RedisBudgetStore({ client: client(), ...settings });
    await spend(a, 60);
    expect(await a.close()).toEqual({ complete: true, undelivered: [] });
    // B: 100 committed and flushed; Redis answered it 6,100 (what B has seen).
    const b = new RedisBudgetStore({ client: client(), ...settings });
    await spend(b, 1);
    await flushed(b);
    expect(await usedRead(b)).toBe(6_100);
    await client().flushall();
    // Right after the loss, before anyone wrote it back: B shows 6,100 (before: 100, its own usage only).
    expect(await usedRead(b)).toBe(6_100);
    // B commits 100 more (a call let through unreserved counts once): its flush finds the loss
    // and writes back its floor, 6,100; B reports its 200 again, so 6,000 is counted beyond it.
    const e = entry();
    b.commit({ id: 'unreserved', entries: [{ key: e.key, budget: BUDGET, actual: units(CALL), windowEnd: e.windowEnd }], now: Date.now() });
    await waitFor('B to find the loss', async () => ((b.stats().events.counters_lost ?? 0) > 0 ? true : undefined), 10_000, 10);
    await flushed(b);
    expect(await budgetInRedis(redis.server.url, 'status:', BUDGET)).toMatchObject({ used: 200 });
    // B and a process new to the counter both show 6,200 (before: 200).
    expect(await usedRead(b)).toBe(6_200);
    const c = new RedisBudgetStore({ client: client(), ...settings });
    expect(await usedRead(c)).toBe(6_200);
    // Through the plugin: status() and check() read the same; a call of 4,000 tokens does not fit
    // (before: used 200, remaining 9,563, and check() said allowed).
    const finops = bedrockFinOps({ budgets: [{ name: BUDGET, limit: { tokens: LIMIT }, window: 'day' }], budgetStore: c });
    const [status] = await finops.budgets.status();
    const reserved = status?.reserved.tokens ?? -1;
    expect(status).toMatchObject({ budget: BUDGET, used: { tokens: 6_200 }, remaining: { tokens: LIMIT - 6_200 - reserved } });
    expect(status?.stale).toBeUndefined();
    const model = 'anthropic.claude-3-haiku-20240307-v1:0';
    expect(await finops.budgets.check({}, model, { tokens: 4_000 })).toMatchObject({ allowed: false, blockedBy: { budget: BUDGET, limitType: 'tokens' } });
    // What is left (3,800 less the slices held) still fits.
    expect((await finops.budgets.check({}, model, { tokens: LIMIT - 6_200 - reserved })).allowed).toBe(true);
    // Charged: A's 6,000 (gone from Redis, counted as the floor) and B's 200, reported again; released: every slice.
    expect(await b.close()).toEqual({ complete: true, undelivered: [] });
    expect(await c.close()).toEqual({ complete: true, undelivered: [] });
    expect(await budgetInRedis(redis.server.url, 'status:', BUDGET)).toEqual({ used: 200, leased: 0, counters: 1 });
  });
});
