import { createHash } from 'node:crypto';

/** The Redis keys of one budget counter. */
export interface CounterKeys {
  /** The counter hash (usage, leased room, slices). */
  readonly counter: string;
  /** The sorted set of its slice holders (by expiry). */
  readonly holders: string;
  /** The budget's index of counters by window end (for deleting finished windows). */
  readonly windows: string;
  /**
   * The budget's marker: when (Redis ms) a lease script first found it missing, and the server run
   * (`run_id`) it found it in. Present, set by this run and older than half a slice TTL, it tells a
   * counter that is new (a new window, a new `per` value) from one Redis may have lost with it
   * (FLUSHALL, a restart, a failover).
   */
  readonly marker: string;
}

/**
 * The hash tag of a budget or quota: its name, where it has no braces (the keys every release
 * has used); a name with braces, or with a lone surrogate (sent to Redis as U+FFFD), has them
 * replaced and a digest of the whole name added, so
 * `x{y` and `x_y` (once one tag: two quotas shared one Redis state) stay apart. Every key of one
 * budget shares its tag, so one budget's keys live in one Redis Cluster slot and different
 * budgets spread over the cluster.
 */
export function budgetTag(budget: string): string {
  const s = budget as string & { isWellFormed(): boolean; toWellFormed(): string };
  const wellFormed = s.isWellFormed();
  if (!/[{}]/.test(budget) && wellFormed) return budget.length === 0 ? '_' : budget;
  // A lone surrogate reaches Redis as U+FFFD, so names differing only there shared one tag: their
  // digest is taken over the UTF-16 units (a well-formed name's stays over its UTF-8, as released).
  const digest = createHash('sha256').update(wellFormed ? budget : Buffer.from(budget, 'utf16le')).digest('hex').slice(0, 16);
  return `${(wellFormed ? budget : s.toWellFormed()).replace(/[{}]/g, '_')}~${digest}`;
}

/** What Redis Cluster hashes of a key to find its slot: the first `{…}` with something inside, else the whole key. */
export function hashedPart(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  return close <= open + 1 ? key : key.slice(open + 1, close);
}

/**
 * Why `prefix` cannot prefix the stores' keys, or `undefined` when it can. A brace in the prefix
 * changes which part of a key Redis Cluster hashes (the first `{…}` with something inside): `{}`
 * spreads one budget's keys over slots (scripts fail CROSSSLOT), `{tag}` puts every budget and
 * quota in one slot (one node takes all the fleet's scripts).
 */
export function keyPrefixProblem(prefix: string): string | undefined {
  if (!/[{}]/.test(prefix)) return undefined;
  return `must not contain '{' or '}' (got ${JSON.stringify(prefix)}): each budget's and quota's keys carry their own Redis Cluster hash tag ({<name>}) so that they share one slot and different budgets spread over the cluster, and a brace in the prefix would change what Redis hashes (a '{}' splits one budget's keys over slots, a '{tag}' puts every budget in one slot)`;
}

/** The keys of one quota (`h` slices, `t` teams, `z` holders), under the quota's hash tag. */
export function quotaKeys(prefix: string, quota: string): readonly [string, string, string] {
  const base = `${prefix}{${budgetTag(quota)}}:`;
  return [`${base}qh`, `${base}qt`, `${base}qz`];
}

/** Key names under a prefix: `<prefix>{<budget>}:c:<counter id>` and so on. */
export class KeySpace {
  constructor(private readonly prefix: string) {}

  windows(budget: string): string {
    return `${this.prefix}{${budgetTag(budget)}}:w`;
  }

  of(budget: string, counterId: string): CounterKeys {
    const base = `${this.prefix}{${budgetTag(budget)}}:`;
    return { counter: `${base}c:${counterId}`, holders: `${base}z:${counterId}`, windows: `${base}w`, marker: `${base}m` };
  }
}
