import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BudgetStore, CounterRef, ReservationEntry, Units } from '../../src/budgets/index.js';

/** Makes a fresh store for one test; keys are unique per test so stores may be shared. */
export type StoreFactory = () => Promise<BudgetStore> | BudgetStore;

/** Store amounts are integers: cost in nano-USD. */
const amounts = (tokens: number, nanoUsd = 0): Units => ({ tokens, inputTokens: tokens, outputTokens: 0, nanoUsd });
const ref = (key: string): CounterRef => ({ key, budget: key.split('-')[0] ?? key });
let seq = 0;
const unique = (name: string) => `${name}-${Date.now()}-${++seq}`;

function entry(key: string, limit: number | undefined, tokens: number, enforce = true, costLimit?: number, cost = 0): ReservationEntry {
  return {
    key,
    budget: ref(key).budget,
    limits: { ...(limit === undefined ? {} : { tokens: limit }), ...(costLimit === undefined ? {} : { nanoUsd: costLimit }) },
    amounts: amounts(tokens, cost),
    enforce,
    windowEnd: Date.now() + 3_600_000,
  };
}

/**
 * The behaviour every BudgetStore must have. The in-memory store is the reference; the Redis
 * store runs the same suite against a real redis-server.
 */
export function describeStoreContract(name: string, factory: StoreFactory, setup?: { before?: () => Promise<void>; after?: () => Promise<void> }): void {
  describe(`${name} store contract`, () => {
    let store: BudgetStore;
    beforeAll(async () => {
      await setup?.before?.();
      store = await factory();
    });
    afterAll(async () => {
      await store.close?.();
      await setup?.after?.();
    });

    it('admits a reservation that fits and reports the states it saw', async () => {
      const key = unique('fit');
      const now = Date.now();
      const r = await store.reserve({ id: unique('id'), entries: [entry(key, 100, 60)], now, leaseMs: 60_000 });
      expect(r.admitted).toBe(true);
      expect(r.states[0]).toEqual({ used: amounts(0), reserved: amounts(0) });
      const [state] = await store.read([ref(key)], now);
      expect(state).toEqual({ used: amounts(0), reserved: amounts(60) });
    });

    it('rejects atomically: when one enforcing entry does not fit, nothing is reserved anywhere', async () => {
      const a = unique('a');
      const b = unique('b');
      const now = Date.now();
      const r = await store.reserve({ id: unique('id'), entries: [entry(a, 1000, 60), entry(b, 50, 60)], now, leaseMs: 60_000 });
      expect(r.admitted).toBe(false);
      expect(r.rejected).toEqual({ index: 1, field: 'tokens' });
      expect(await store.read([ref(a), ref(b)], now)).toEqual([
        { used: amounts(0), reserved: amounts(0) },
        { used: amounts(0), reserved: amounts(0) },
      ]);
    });

    it('admits past a non-enforcing (warn) entry and reports it as exceeded', async () => {
      const key = unique('warn');
      const r = await store.reserve({ id: unique('id'), entries: [entry(key, 10, 60, false)], now: Date.now(), leaseMs: 60_000 });
      expect(r).toMatchObject({ admitted: true, rejected: undefined, exceeded: [{ index: 0, field: 'tokens' }] });
    });

    it('commit releases the reservation, adds the actual usage and reports before and after', async () => {
      const key = unique('commit');
      const id = unique('id');
      const now = Date.now();
      await store.reserve({ id, entries: [entry(key, 1000, 300)], now, leaseMs: 60_000 });
      const c = await store.commit({ id, entries: [{ key, budget: ref(key).budget, actual: amounts(120, 250_000_000), windowEnd: now + 3_600_000 }], now });
      expect(c).toEqual({ applied: true, before: [amounts(0)], after: [amounts(120, 250_000_000)] });
      expect(await store.read([ref(key)], now)).toEqual([{ used: amounts(120, 250_000_000), reserved: amounts(0) }]);
    });

    it('commits are idempotent by reservation id', async () => {
      const key = unique('idem');
      const id = unique('id');
      const now = Date.now();
      await store.reserve({ id, entries: [entry(key, 1000, 10)], now, leaseMs: 60_000 });
      const request = { id, entries: [{ key, budget: ref(key).budget, actual: amounts(10), windowEnd: now + 3_600_000 }], now };
      await store.commit(request);
      expect((await store.commit(request)).applied).toBe(false);
      expect(await store.read([ref(key)], now)).toEqual([{ used: amounts(10), reserved: amounts(0) }]);
    });

    it('a reservation that is never committed stops holding once its lease expires', async () => {
      const key = unique('lease');
      const now = Date.now();
      expect((await store.reserve({ id: unique('lost'), entries: [entry(key, 100, 100)], now, leaseMs: 1_000 })).admitted).toBe(true);
      expect((await store.reserve({ id: unique('blocked'), entries: [entry(key, 100, 100)], now: now + 500, leaseMs: 1_000 })).admitted).toBe(false);
      expect((await store.reserve({ id: unique('after'), entries: [entry(key, 100, 100)], now: now + 1_001, leaseMs: 1_000 })).admitted).toBe(true);
    });

    it('a late commit after the lease expired still counts the usage once', async () => {
      const key = unique('late');
      const id = unique('id');
      const now = Date.now();
      await store.reserve({ id, entries: [entry(key, 1000, 100)], now, leaseMs: 1_000 });
      await store.read([ref(key)], now + 5_000);
      await store.commit({ id, entries: [{ key, budget: ref(key).budget, actual: amounts(80), windowEnd: now + 3_600_000 }], now: now + 5_000 });
      expect(await store.read([ref(key)], now + 5_000)).toEqual([{ used: amounts(80), reserved: amounts(0) }]);
    });

    it('a commit for an id it never reserved (a call let through while the store failed) counts once', async () => {
      const key = unique('unreserved');
      const id = unique('id');
      const now = Date.now();
      const request = { id, entries: [{ key, budget: ref(key).budget, actual: amounts(42), windowEnd: now + 3_600_000 }], now };
      expect((await store.commit(request)).applied).toBe(true);
      expect((await store.commit(request)).applied).toBe(false);
      expect(await store.read([ref(key)], now)).toEqual([{ used: amounts(42), reserved: amounts(0) }]);
    });

    it('a reserve re-sent with the same id changes nothing and admits again', async () => {
      const key = unique('resent');
      const id = unique('id');
      const now = Date.now();
      const request = { id, entries: [entry(key, 100, 60)], now, leaseMs: 60_000 };
      expect((await store.reserve(request)).admitted).toBe(true);
      expect((await store.reserve(request)).admitted).toBe(true);
      expect(await store.read([ref(key)], now)).toEqual([{ used: amounts(0), reserved: amounts(60) }]);
    });

    it('reads back what the previous sequential commit added, and admits on top of it (read-your-own-writes)', async () => {
      const key = unique('seq');
      const now = Date.now();
      let admitted = 0;
      for (let i = 0; i < 10; i++) {
        const id = unique('id');
        const r = await store.reserve({ id, entries: [entry(key, 10_000, 6_000)], now, leaseMs: 60_000 });
        if (!r.admitted) continue;
        admitted++;
        await store.commit({ id, entries: [{ key, budget: ref(key).budget, actual: amounts(110), windowEnd: now + 3_600_000 }], now });
      }
      expect(admitted).toBe(10);
      expect(await store.read([ref(key)], now)).toEqual([{ used: amounts(1_100), reserved: amounts(0) }]);
    });

    it('keeps cost sums exact: ten commits of $0.1 fill a $1 limit exactly, and reserved returns to exactly 0', async () => {
      const key = unique('usd');
      const now = Date.now();
      const tenth = 100_000_000; // $0.1 in nano-USD
      for (let i = 0; i < 10; i++) {
        const id = unique('id');
        expect((await store.reserve({ id, entries: [entry(key, undefined, 0, true, 10 * tenth, tenth)], now, leaseMs: 60_000 })).admitted).toBe(true);
        await store.commit({ id, entries: [{ key, budget: ref(key).budget, actual: amounts(0, tenth), windowEnd: now + 3_600_000 }], now });
      }
      expect(await store.read([ref(key)], now)).toEqual([{ used: amounts(0, 10 * tenth), reserved: amounts(0) }]);
      expect((await store.reserve({ id: unique('id'), entries: [entry(key, undefined, 0, true, 10 * tenth, 1)], now, leaseMs: 60_000 })).admitted).toBe(false);
    });

    it('admits exactly as many of 200 concurrent reservations as fit', async () => {
      const key = unique('race');
      const now = Date.now();
      const results = await Promise.all(Array.from({ length: 200 }, async () => store.reserve({ id: unique('id'), entries: [entry(key, 1_000, 10)], now, leaseMs: 60_000 })));
      expect(results.filter((r) => r.admitted)).toHaveLength(100);
      expect(await store.read([ref(key)], now)).toEqual([{ used: amounts(0), reserved: amounts(1_000) }]);
    });

    it('reads unknown counters as zero', async () => {
      expect(await store.read([ref(unique('none'))], Date.now())).toEqual([{ used: amounts(0), reserved: amounts(0) }]);
    });
  });
}
