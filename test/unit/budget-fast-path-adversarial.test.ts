import { describe, expect, it } from 'vitest';
import { MemoryBudgetStore } from '../../src/budgets/index.js';
import { COMMIT_HELD, PEEK, RESERVE_FITTING } from '../../src/budgets/memory-store.js';
import type { Units } from '../../src/budgets/amounts.js';

// The direct pair (admission's fresh ids, settlement's handles) is under symbols the package does not
// export: what a caller of the store has is reserve(), commit() and read(), idempotent for re-sent ids.
const u = (tokens: number): Units => ({ tokens, inputTokens: tokens, outputTokens: 0, nanoUsd: 0 });
const key = { id: 'daily\u0001\u00010', end: Number.POSITIVE_INFINITY, rule: { unitLimits: { tokens: 1000 } } };
const entry = { key: key.id, budget: 'daily', limits: { tokens: 1000 }, amounts: u(60), enforce: true, windowEnd: key.end };
const read = (s: MemoryBudgetStore) => s.read([{ key: key.id, budget: 'daily' }], 0)[0]!;

describe('MemoryBudgetStore: the direct pair is not its API; replays and expiries charge once', () => {
  it('the exported store has no named method a caller could give a re-sent id to, past reserve(), commit() and read()', () => {
    // Before: reserveFitting, commitHeld and peek were public: a re-sent id held 120 for 60 and charged 100 for 50.
    const names = Object.getOwnPropertyNames(MemoryBudgetStore.prototype).filter((n) => n !== 'constructor');
    expect(names.filter((n) => !['reserve', 'commit', 'read', 'counter', 'release', 'sweep', 'reservedBefore'].includes(n))).toEqual([]);
    expect(Object.keys(new MemoryBudgetStore())).not.toContain('reserveFitting');
  });

  it('reserve() re-sent for comparison: idempotent', () => {
    const store = new MemoryBudgetStore();
    const a = store.reserve({ id: 'r1', entries: [entry], now: 0, leaseMs: 60_000 });
    store.reserve({ id: 'r1', entries: [entry], now: 0, leaseMs: 60_000 });
    store.commit({ id: 'r1', entries: [{ key: key.id, budget: 'daily', actual: u(50), windowEnd: key.end }], now: 1 });
    store.commit({ id: 'r1', entries: [{ key: key.id, budget: 'daily', actual: u(50), windowEnd: key.end }], now: 1, handle: a.handle });
    expect(read(store)).toMatchObject({ used: { tokens: 50 }, reserved: { tokens: 0 } });
  });

  it('commitHeld replayed, then commit() replayed: charged once', () => {
    const store = new MemoryBudgetStore();
    const h = store[RESERVE_FITTING]('r2', [key], u(60), 0, 60_000);
    expect(store[COMMIT_HELD]('r2', h, [key], u(40))).toBe(true);
    expect(store[COMMIT_HELD]('r2', h, [key], u(40))).toBe(false);
    expect(store.commit({ id: 'r2', entries: [{ key: key.id, budget: 'daily', actual: u(40), windowEnd: key.end }], now: 1, handle: h }).applied).toBe(false);
    expect(store.commit({ id: 'r2', entries: [{ key: key.id, budget: 'daily', actual: u(40), windowEnd: key.end }], now: 1 }).applied).toBe(false);
    expect(read(store)).toMatchObject({ used: { tokens: 40 }, reserved: { tokens: 0 } });
  });

  it('a direct reservation whose lease expired is released by the sweep and commitHeld declines it; commit() charges it once', () => {
    const store = new MemoryBudgetStore();
    const h = store[RESERVE_FITTING]('r3', [key], u(60), 0, 1_000);
    expect(read(store).reserved.tokens).toBe(60);
    store.read([], 5_000); // sweeps
    expect(store[PEEK](key.id, 6_000).reserved.tokens).toBe(0);
    expect(store[COMMIT_HELD]('r3', h, [key], u(40))).toBe(false);
    expect(store.commit({ id: 'r3', entries: [{ key: key.id, budget: 'daily', actual: u(40), windowEnd: key.end }], now: 6_000, handle: h }).applied).toBe(true);
    expect(store.commit({ id: 'r3', entries: [{ key: key.id, budget: 'daily', actual: u(40), windowEnd: key.end }], now: 6_000, handle: h }).applied).toBe(false);
    expect(store[PEEK](key.id, 6_000)).toMatchObject({ used: { tokens: 40 }, reserved: { tokens: 0 } });
  });
});
