import { describe, expect, it } from 'vitest';
import { compileRules } from '../../src/budgets/budget-rule.js';
import { cachedCounterKey, type CounterKey } from '../../src/budgets/counter-key.js';
import { KnownCounters } from '../../src/budgets/known-counters.js';

const units = (tokens: number) => ({ tokens, inputTokens: tokens, outputTokens: 0, nanoUsd: 0 });
const state = (used: number) => ({ used: units(used), reserved: units(0) });
const HOUR = 3_600_000;

describe('KnownCounters: the last state of each counter, reached through the key', () => {
  const [rule] = compileRules([{ name: 'hourly', per: 'tenant', limit: { tokens: 1_000 }, window: 'hour' }]);
  if (rule === undefined) throw new Error('no rule');
  const t0 = Math.floor(Date.now() / HOUR) * HOUR;

  it('two owners of one key keep their own states (a key shared by two plugin instances)', () => {
    const a = new KnownCounters(10);
    const b = new KnownCounters(10);
    const key = cachedCounterKey(rule, 'acme', t0);
    a.remember(key, state(1));
    b.remember(key, state(2));
    a.remember(key, state(3));
    expect(a.get(key)?.used.tokens).toBe(3);
    expect(b.get(key)?.used.tokens).toBe(2);
    expect([...a.values()].map((k) => k.state.used.tokens)).toEqual([3]);
  });

  it('a newer window replaces the older one; a late state of the older window does not come back', () => {
    const known = new KnownCounters(10);
    const first = cachedCounterKey(rule, 'acme', t0);
    const next = cachedCounterKey(rule, 'acme', t0 + HOUR);
    known.remember(first, state(5));
    known.remember(next, state(1));
    known.remember(first, state(9));
    expect(known.get(next)?.used.tokens).toBe(1);
    expect(known.get(first)).toBeUndefined();
    // A key object made apart from the cache (a view's) finds the same counter.
    const apart: CounterKey = { rule, perValue: 'acme', start: next.start, end: next.end, id: next.id };
    expect(known.get(apart)?.used.tokens).toBe(1);
    expect([...known.values()]).toHaveLength(1);
  });

  it(`keeps at most maxPerRule values per rule: past it a new value is not kept (and not linked)`, () => {
    const known = new KnownCounters(2);
    for (const tenant of ['a', 'b', 'c']) known.remember(cachedCounterKey(rule, tenant, t0), state(1));
    expect([...known.values()].map((k) => k.key.perValue)).toEqual(['a', 'b']);
    expect(known.get(cachedCounterKey(rule, 'c', t0))).toBeUndefined();
    expect(cachedCounterKey(rule, 'c', t0).known).toBeUndefined();
  });
});
