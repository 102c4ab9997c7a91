import type { Amounts, LimitType, Limits } from './amounts.js';

/** One counter a reservation touches: a budget rule, its `per` value and its window. */
export interface ReservationEntry {
  /** The counter's key (budget, per value, window start); stores may prefix it. */
  readonly key: string;
  readonly limits: Limits;
  /** What this call reserves. */
  readonly amounts: Readonly<Amounts>;
  /** `true` for `block` rules: exceeding rejects the whole reservation. `false` for `warn` rules. */
  readonly enforce: boolean;
  /** When the window ends (epoch ms; `Infinity` for `total`), so stores can expire the counter. */
  readonly windowEnd: number;
}

export interface ReserveRequest {
  /** Unique per call; commits refer to it. */
  readonly id: string;
  readonly entries: readonly ReservationEntry[];
  readonly now: number;
  /** How long the reservation holds if it is never committed (a crashed process). */
  readonly leaseMs: number;
}

/** A counter's state: committed usage and live reservations. */
export interface CounterState {
  readonly used: Readonly<Amounts>;
  readonly reserved: Readonly<Amounts>;
}

export interface ReserveResult {
  /** Whether the reservation was made (on every entry) — all or none. */
  readonly admitted: boolean;
  /** The first enforcing entry that did not fit, and which limit it would pass. */
  readonly rejected: { readonly index: number; readonly limit: LimitType } | undefined;
  /** Non-enforcing (`warn`) entries that are over their limit with this call. */
  readonly exceeded: readonly { readonly index: number; readonly limit: LimitType }[];
  /** Each entry's state before this reservation. */
  readonly states: readonly CounterState[];
}

export interface CommitEntry {
  readonly key: string;
  /** The actual usage to add. */
  readonly actual: Readonly<Amounts>;
  readonly windowEnd: number;
}

export interface CommitRequest {
  /** The reservation being settled: its reserved amounts are released. Committing twice is a no-op. */
  readonly id: string;
  readonly entries: readonly CommitEntry[];
  readonly now: number;
}

export interface CommitResult {
  /** `false` when this id had already been committed (nothing changed). */
  readonly applied: boolean;
  /** Each entry's committed usage before and after this commit. */
  readonly before: readonly Readonly<Amounts>[];
  readonly after: readonly Readonly<Amounts>[];
}

/**
 * Where budget counters live. Every method is atomic: `reserve` checks every entry and reserves
 * on all of them or none. Methods may answer synchronously (the in-memory store does, so the
 * hot path awaits nothing) or with a promise (Redis).
 */
export interface BudgetStore {
  reserve(request: ReserveRequest): ReserveResult | Promise<ReserveResult>;
  commit(request: CommitRequest): CommitResult | Promise<CommitResult>;
  /** Current states of the given counters (missing ones are zero). */
  read(keys: readonly string[], now: number): readonly CounterState[] | Promise<readonly CounterState[]>;
  /** Releases what the store holds (timers, buffers); user-supplied connections stay open. */
  close?(): Promise<void>;
  /** Counters about the store itself (errors, timeouts, buffered commits…), exported as metrics. */
  stats?(): Readonly<Record<string, number>>;
}
