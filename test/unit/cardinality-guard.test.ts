import { describe, expect, it } from 'vitest';
import { CardinalityGuard, MAX_GUARDED_KEYS } from '../../src/metrics/cardinality-guard.js';

describe('CardinalityGuard', () => {
  it('passes the first maxValuesPerKey values of a key, then _OTHER; a value keeps its fate', () => {
    const g = new CardinalityGuard(2);
    expect([g.safe('tenant', 'a'), g.safe('tenant', 'b'), g.safe('tenant', 'c'), g.safe('tenant', 'a')]).toEqual(['a', 'b', '_OTHER', 'a']);
  });

  it('follows at most MAX_GUARDED_KEYS keys: new keys on every call (request data) cannot grow it without end', () => {
    const g = new CardinalityGuard(100);
    for (let i = 0; i < MAX_GUARDED_KEYS; i++) expect(g.safe(`k${i}`, 'v')).toBe('v');
    // Past the bound every value of a new key reads _OTHER, and nothing more is kept for it.
    for (let i = 0; i < 10_000; i++) expect(g.safe(`new${i}`, `v${i}`)).toBe('_OTHER');
    expect((g as unknown as { seen: Map<string, unknown> }).seen.size).toBe(MAX_GUARDED_KEYS);
    // Keys it follows go on as before.
    expect(g.safe('k0', 'w')).toBe('w');
  });
});
