/**
 * Exact percentiles in memory bounded by the number of distinct values, not of calls: token
 * counts are integers below the largest context window, so a count per distinct value is a
 * lossless summary (a million calls of prompts up to 200k tokens keep at most 200k counts).
 */
export class CountHistogram {
  private readonly counts = new Map<number, number>();
  total = 0;

  add(value: number): void {
    this.counts.set(value, (this.counts.get(value) ?? 0) + 1);
    this.total++;
  }

  /** Nearest-rank percentiles (the smallest value with at least p% of values at or below it), in one pass. */
  percentiles(ps: readonly number[]): number[] {
    if (this.total === 0) return ps.map(() => 0);
    const values = [...this.counts.keys()].sort((a, b) => a - b);
    const ranks = ps.map((p) => Math.min(this.total, Math.max(1, Math.ceil((p / 100) * this.total))));
    const out = ps.map(() => 0);
    let seen = 0;
    let next = 0;
    const order = ranks.map((r, i) => [r, i] as const).sort((a, b) => a[0] - b[0]);
    for (const v of values) {
      seen += this.counts.get(v) ?? 0;
      for (let o = order[next]; o !== undefined && o[0] <= seen; o = order[++next]) out[o[1]] = v;
      if (next === order.length) break;
    }
    return out;
  }
}

/** Nearest-rank percentile of an ascending array (the same definition as {@link CountHistogram}). */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
}

/**
 * A feature's prompt sizes in call order, for context inflation (medians of the first and last
 * thirds by time): 16 bytes per call in typed arrays, exact, sorted by time once at the end.
 */
export class TimedSeries {
  private times = new Float64Array(64);
  private values = new Float64Array(64);
  length = 0;

  add(time: number, value: number): void {
    if (this.length === this.times.length) {
      const t = new Float64Array(this.length * 2);
      t.set(this.times);
      this.times = t;
      const v = new Float64Array(this.length * 2);
      v.set(this.values);
      this.values = v;
    }
    this.times[this.length] = time;
    this.values[this.length] = value;
    this.length++;
  }

  /** Medians of the first and last third of values by time (ties keep insertion order). */
  thirdMedians(): { early: number; late: number } {
    const n = this.length;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    const times = this.times;
    order.sort((a, b) => (times[a] ?? 0) - (times[b] ?? 0) || a - b);
    const third = Math.floor(n / 3);
    const pick = (from: number, to: number): number => {
      const part = new Float64Array(to - from);
      for (let i = from; i < to; i++) part[i - from] = this.values[order[i] ?? 0] ?? 0;
      return percentileOfSorted(part.sort(), 50);
    };
    return { early: pick(0, third), late: pick(n - third, n) };
  }
}
