import type { LimitType } from '../budgets/amounts.js';
import { brand, brandOf, FinOpsError } from './finops-error.js';

/** What the rejected call ran into. */
export interface BudgetExceededDetails {
  /** The budget rule's name. */
  readonly budget: string;
  /** The `per` value the counter belongs to (e.g. the tenant), or `undefined` for a rule without `per`. */
  readonly key: string | undefined;
  /** Which limit would be passed. */
  readonly limitType: LimitType;
  readonly limit: number;
  /** Committed usage in the current window. */
  readonly used: number;
  /** Held by calls in flight. */
  readonly reserved: number;
  /** What this call asked for (its estimate). */
  readonly requested: number;
  /** When the window resets (`undefined` for a `total` budget, which never does). */
  readonly resetAt: Date | undefined;
  /**
   * Why the call was refused: `limit` — the budget has no room for it; `store-unavailable` — the
   * budget store could not be asked and `onStoreError` is `'deny'` (the limit may not be reached).
   * @defaultValue `'limit'`
   */
  readonly reason?: 'limit' | 'store-unavailable';
}

/** Thrown before a request is sent, when a `block` budget would be exceeded. Nothing was sent. */
export class BudgetExceededError extends FinOpsError implements BudgetExceededDetails {
  override name = 'BudgetExceededError';
  readonly budget: string;
  readonly key: string | undefined;
  readonly limitType: LimitType;
  readonly limit: number;
  readonly used: number;
  readonly reserved: number;
  readonly requested: number;
  readonly resetAt: Date | undefined;
  readonly reason: 'limit' | 'store-unavailable';

  constructor(details: BudgetExceededDetails) {
    const who = details.key === undefined ? `"${details.budget}"` : `"${details.budget}" for "${details.key}"`;
    const when = details.resetAt === undefined ? 'it does not reset (total budget)' : `it resets at ${details.resetAt.toISOString()}`;
    super(
      details.reason === 'store-unavailable'
        ? `Budget ${who} could not be checked: the budget store is unavailable and onStoreError is 'deny'. Nothing was sent.`
        : `Budget ${who} would be exceeded: ${details.limitType} limit ${fmt(details.limit)}, used ${fmt(details.used)}, reserved by calls in flight ${fmt(details.reserved)}, this call needs ${fmt(details.requested)}; ${when}. Nothing was sent.`,
    );
    this.reason = details.reason ?? 'limit';
    this.budget = details.budget;
    this.key = details.key;
    this.limitType = details.limitType;
    this.limit = details.limit;
    this.used = details.used;
    this.reserved = details.reserved;
    this.requested = details.requested;
    this.resetAt = details.resetAt;
    brand(this, 'BudgetExceededError');
  }
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(6);
}

/** Whether `error` is a {@link BudgetExceededError} (works across realms and duplicate installs). */
export function isBudgetExceededError(error: unknown): error is BudgetExceededError {
  return brandOf(error) === 'BudgetExceededError';
}
