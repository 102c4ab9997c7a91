import { OTHER_VALUE } from './semconv.js';

/** Distinct attribution keys the guard follows; the values of keys past them all read `_OTHER` (keys come from request data). */
export const MAX_GUARDED_KEYS = 256;

/**
 * Caps the distinct values per attribution key that reach metrics: the first `maxValuesPerKey`
 * values seen pass, later ones become `_OTHER`; the values of keys past the first
 * {@link MAX_GUARDED_KEYS} all become `_OTHER`. A value keeps the fate it got first, so a
 * series never flips between its own name and `_OTHER`.
 */
export class CardinalityGuard {
  private readonly seen = new Map<string, Set<string>>();

  constructor(private readonly maxValuesPerKey: number) {}

  safe(key: string, value: string): string {
    let values = this.seen.get(key);
    if (values === undefined) {
      // Bounded in keys as well as in values per key: a caller sending new keys on every call
      // must not grow it without end.
      if (this.seen.size >= MAX_GUARDED_KEYS) return OTHER_VALUE;
      values = new Set();
      this.seen.set(key, values);
    }
    if (values.has(value)) return value;
    if (values.size >= this.maxValuesPerKey) return OTHER_VALUE;
    values.add(value);
    return value;
  }
}
