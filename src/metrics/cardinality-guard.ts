import { OTHER_VALUE } from './semconv.js';

/**
 * Caps the distinct values per attribution key that reach metrics: the first `maxValuesPerKey`
 * values seen pass, later ones become `_OTHER`. A value keeps the fate it got first, so a
 * series never flips between its own name and `_OTHER`.
 */
export class CardinalityGuard {
  private readonly seen = new Map<string, Set<string>>();

  constructor(private readonly maxValuesPerKey: number) {}

  safe(key: string, value: string): string {
    let values = this.seen.get(key);
    if (values === undefined) {
      values = new Set();
      this.seen.set(key, values);
    }
    if (values.has(value)) return value;
    if (values.size >= this.maxValuesPerKey) return OTHER_VALUE;
    values.add(value);
    return value;
  }
}
