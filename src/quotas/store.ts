import type { QuotaAmount } from './amount.js';

/** A quota as a store needs it. */
export interface QuotaSpec {
  readonly name: string;
  /** The limit believed now: the configured one, or less for a while after Bedrock throttled. */
  readonly limit: QuotaAmount;
  /** The limit as configured (a shared store applies the fleet's believed share itself). */
  readonly configured: QuotaAmount;
  /** The sliding window the limit applies to, in ms. */
  readonly windowMs: number;
  /** Shares: the least part any active team is guaranteed (0 when not shared). */
  readonly floor: number;
}

export interface HoldRequest {
  readonly quota: QuotaSpec;
  /** The share key's value (`''` when the quota is not shared or the call lacks the key). */
  readonly team: string;
  /** The team's weight in the shares. */
  readonly weight: number;
  /** Unique per call in this process; its settle refers to it. */
  readonly id: string;
  readonly need: QuotaAmount;
  /**
   * Epoch ms on the quota clock: the wall clock at process start plus monotonic time since, so a
   * wall clock set forward or back moves no window and releases no hold. Measure windows and
   * leases by it, never mix it with `Date.now()`, and never share it with another process.
   */
  readonly now: number;
}

export interface HoldResult {
  /** Whether the hold was placed (the call may be sent). */
  readonly held: boolean;
  /** When enough room should be back for this need (on the clock of `now`), if the window says; `undefined`: once calls in flight settle. */
  readonly retryAt: number | undefined;
  /** Quota in use (charged in the window plus held by calls in flight) before this hold, as this process knows it. */
  readonly inUse: QuotaAmount;
}

export interface SettleRequest {
  readonly quota: QuotaSpec;
  readonly team: string;
  /** The hold being settled (released now); an id never held (a call that spilled to on-demand) is charged all the same. */
  readonly id: string;
  /** What the call is charged: enters the window now and leaves it `windowMs` later. */
  readonly charged: QuotaAmount;
  /** On the clock of {@link HoldRequest.now}. */
  readonly now: number;
}

/** A quota's use as this process knows it. */
export interface QuotaUse {
  readonly inUse: QuotaAmount;
  readonly teams: readonly { readonly team: string; readonly inUse: QuotaAmount }[];
  /** For a shared store: room leased to all processes (this one included). */
  readonly leased?: QuotaAmount;
}

/** What a store reports about itself, exported as metrics. */
export interface QuotaStoreStats {
  /** Counts since the store was created, by event (`slices_leased`, `refused`, `errors`, …). */
  readonly events: Readonly<Record<string, number>>;
  /** Whether the backend is unreachable now. */
  readonly unavailable: boolean;
}

/**
 * Where quota use lives: calls in flight (holds) and what settled calls were charged in the
 * last window, per quota and team. `tryHold` checks the limit and the shares and holds all or
 * nothing. Amounts are integers. Methods may answer synchronously (the in-memory store does) or
 * with a promise (Redis, when it must ask for room).
 */
export interface QuotaStore {
  tryHold(request: HoldRequest): HoldResult | Promise<HoldResult>;
  settle(request: SettleRequest): void;
  read(quota: QuotaSpec, now: number): QuotaUse;
  /** Registers a listener told when room may have come back to a quota (a settle, room granted). */
  onChange?(listener: (quota: string) => void): void;
  /** Bedrock throttled a call of `quota` here, and this process now believes `fraction` of its limit: a shared store tells the fleet. */
  throttled?(quota: string, fraction: number): void;
  /** Gives back what the store holds and releases timers. Idempotent. */
  close?(): Promise<void>;
  stats?(): QuotaStoreStats;
}
