/** The Redis keys of one budget counter. */
export interface CounterKeys {
  /** The counter hash (usage, leased room, slices). */
  readonly counter: string;
  /** The sorted set of its slice holders (by expiry). */
  readonly holders: string;
  /** The budget's index of counters by window end (for deleting finished windows). */
  readonly windows: string;
}

/**
 * The hash tag of a budget: its name without braces. Every key of one budget shares it, so one
 * budget's keys live in one Redis Cluster slot and different budgets spread over the cluster.
 */
export function budgetTag(budget: string): string {
  const tag = budget.replace(/[{}]/g, '_');
  return tag.length === 0 ? '_' : tag;
}

/** Key names under a prefix: `<prefix>{<budget>}:c:<counter id>` and so on. */
export class KeySpace {
  constructor(private readonly prefix: string) {}

  windows(budget: string): string {
    return `${this.prefix}{${budgetTag(budget)}}:w`;
  }

  of(budget: string, counterId: string): CounterKeys {
    const base = `${this.prefix}{${budgetTag(budget)}}:`;
    return { counter: `${base}c:${counterId}`, holders: `${base}z:${counterId}`, windows: `${base}w` };
  }
}
