import type { UnitField, UnitLimits, Units } from './amounts.js';

/** One counter a reservation touches: a budget rule, its `per` value and its window. */
export interface ReservationEntry {
  /** The counter's unique key (budget, per value, window start); stores may prefix it. */
  readonly key: string;
  /** The budget (rule) name the counter belongs to: stores may shard or hash-tag by it. */
  readonly budget: string;
  readonly limits: UnitLimits;
  /** What this call reserves. */
  readonly amounts: Units;
  /** `true` for `block` rules: exceeding rejects the whole reservation. `false` for `warn` rules. */
  readonly enforce: boolean;
  /** When the window ends (epoch ms; `Infinity` for `total`), so stores can expire the counter. */
  readonly windowEnd: number;
}

export interface ReserveRequest {
  /** Unique per call (a random UUID); commits refer to it. Reserving twice with one id is a no-op. */
  readonly id: string;
  readonly entries: readonly ReservationEntry[];
  readonly now: number;
  /** How long the reservation holds if it is never committed (a crashed process). */
  readonly leaseMs: number;
  /**
   * `true` when the caller made `id` for this request and never sent it before (admission
   * does): a store may skip looking for an earlier reservation under it. Re-sent requests leave
   * it unset.
   */
  readonly fresh?: boolean;
}

/** A counter's state: committed usage and live reservations, in store units (integers; cost in nano-USD). */
export interface CounterState {
  readonly used: Units;
  readonly reserved: Units;
}

export interface ReserveResult {
  /** Whether the reservation was made (on every entry) — all or none. */
  readonly admitted: boolean;
  /** The first enforcing entry that did not fit, and which field it would pass. */
  readonly rejected: { readonly index: number; readonly field: UnitField } | undefined;
  /** Non-enforcing (`warn`) entries that are over their limit with this call. */
  readonly exceeded: readonly { readonly index: number; readonly field: UnitField }[];
  /** Each entry's state before this reservation. */
  readonly states: readonly CounterState[];
  /** Opaque: the store's own hold on the reservation, given back with its commit ({@link CommitRequest.handle}) so the store need not look it up. */
  readonly handle?: unknown;
}

export interface CommitEntry {
  readonly key: string;
  readonly budget: string;
  /** The actual usage to add. */
  readonly actual: Units;
  readonly windowEnd: number;
}

export interface CommitRequest {
  /**
   * The reservation being settled: its reserved amounts are released. Committing twice is a
   * no-op. An id the store never reserved (a call let through while the store failed) or whose
   * reservation expired still counts its usage, once.
   */
  readonly id: string;
  readonly entries: readonly CommitEntry[];
  readonly now: number;
  /** The {@link ReserveResult.handle} the reservation of `id` was answered with, if any. A store checks it is its own and for `id`. */
  readonly handle?: unknown;
}

export interface CommitResult {
  /** `false` when this id had already been committed (nothing changed). */
  readonly applied: boolean;
  /** Each entry's committed usage before and after this commit. */
  readonly before: readonly Units[];
  readonly after: readonly Units[];
}

/** A counter to read: its key and budget name. */
export interface CounterRef {
  readonly key: string;
  readonly budget: string;
}

/** Told about every round trip a store makes to its backend (the latency histogram). */
export interface BudgetStoreObserver {
  /** One round trip ended: `seconds` from sending to the answer (or the failure), the operation, whether it succeeded. */
  roundTrip(seconds: number, operation: string, ok: boolean): void;
}

/** What a store reports about itself, exported as metrics. */
export interface BudgetStoreStats {
  /**
   * Counts since the store was created, by event (`slices_leased`, `slices_returned`, `refused`,
   * `errors`, `timeouts`, `commits_buffered`, `commits_acknowledged`, `dropped`, …).
   */
  readonly events: Readonly<Record<string, number>>;
  /** Commits applied in this process that the backend has not acknowledged yet. */
  readonly pendingCommits: number;
  /** Slices of budget room this process holds now. */
  readonly slices: number;
  /** Whether the backend is unreachable now (admission then needs a slice, or `onStoreError` applies). */
  readonly unavailable: boolean;
}

/** Usage a store could not deliver to its backend before `close()` gave up. */
export interface UndeliveredUsage {
  readonly budget: string;
  /** The counter's store key. */
  readonly key: string;
  readonly usage: Units;
  readonly commits: number;
}

/** What `close()` did. */
export interface BudgetStoreCloseReport {
  /** `true` when every commit reached the backend and every slice was given back. */
  readonly complete: boolean;
  readonly undelivered: readonly UndeliveredUsage[];
}

/**
 * Where budget counters live. Every method is atomic: `reserve` checks every entry and reserves
 * on all of them or none. Amounts are integers (tokens; cost in nano-USD), so sums are exact.
 * Methods may answer synchronously (the in-memory store does, so the hot path awaits nothing) or
 * with a promise (Redis).
 */
export interface BudgetStore {
  reserve(request: ReserveRequest): ReserveResult | Promise<ReserveResult>;
  commit(request: CommitRequest): CommitResult | Promise<CommitResult>;
  /** Current states of the given counters (missing ones are zero). */
  read(counters: readonly CounterRef[], now: number): readonly CounterState[] | Promise<readonly CounterState[]>;
  /**
   * Writes what the store still holds for the backend (buffered commits, slices) within its
   * deadline and releases timers; may report what it could not deliver. Idempotent: later calls
   * answer the same report. User-supplied connections stay open.
   */
  close?(): Promise<void | BudgetStoreCloseReport>;
  /** What the store has been through (slices, errors, buffered commits…), exported as metrics. */
  stats?(): BudgetStoreStats;
  /** Registers an observer of round trips to the backend. */
  observe?(observer: BudgetStoreObserver): void;
}
