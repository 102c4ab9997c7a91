import type { OnceReporter } from '../diagnostics.js';
import { reportRejection } from '../promise-like.js';
import type { Attribution } from '../record.js';
import { FIELD_OF, LIMIT_TYPES, publicValue, type LimitType } from './amounts.js';
import type { CounterKey } from './counter-key.js';
import type { BudgetWindow } from './window.js';

/** An event about a budget, delivered to `onBudgetEvent`. */
export interface BudgetEvent {
  /**
   * - `threshold`: committed usage crossed an `alertAt` fraction (once per threshold per window).
   * - `rejected`: a `block` budget stopped a call before it was sent.
   * - `exceeded`: a `warn` budget would have stopped a call; it was let through.
   * - `store-error`: the budget store failed; the call was allowed or denied per `onStoreError`.
   * - `unpriced`: a call to a model with no known price matched this cost budget and was let
   *   through (`unpricedModels: 'warn'`); the cost budget is not charged for it.
   */
  readonly type: 'threshold' | 'rejected' | 'exceeded' | 'store-error' | 'unpriced';
  readonly budget: string;
  /** The `per` value, or `undefined` for a rule without `per`. */
  readonly key: string | undefined;
  readonly window: BudgetWindow;
  readonly windowStart: Date;
  /** `undefined` for `total` budgets. */
  readonly resetAt: Date | undefined;
  readonly limitType: LimitType;
  readonly limit: number;
  /** Committed usage (for `threshold`: after the commit that crossed it). */
  readonly used: number;
  /** For `threshold`: the fraction crossed. */
  readonly threshold: number | undefined;
  /** For `rejected` / `exceeded`: what the call asked for and what calls in flight held. */
  readonly requested: number | undefined;
  readonly reserved: number | undefined;
  readonly modelId: string;
  readonly attribution: Attribution;
}

/** What an event says about a call: the store-unit values of the limit type concerned. */
export interface EventFacts {
  readonly used: number;
  readonly reserved?: number | undefined;
  readonly requested?: number | undefined;
  readonly threshold?: number | undefined;
}

/** The first limit type a rule sets (what an event is about when no single limit is). */
export function firstLimitType(key: CounterKey): LimitType {
  return LIMIT_TYPES.find((t) => key.rule.limits[t] !== undefined) ?? 'tokens';
}

/** Delivers budget events to `onBudgetEvent`, converting store units to public ones; a throwing handler is reported, never propagated. */
export class BudgetEvents {
  constructor(
    private readonly handler: ((event: BudgetEvent) => unknown) | undefined,
    private readonly reporter: OnceReporter,
  ) {}

  emit(type: BudgetEvent['type'], key: CounterKey, limitType: LimitType, facts: EventFacts, call: { readonly modelId: string; readonly attribution: Attribution }): void {
    const handler = this.handler;
    if (handler === undefined) return;
    const field = FIELD_OF[limitType];
    const value = (v: number | undefined): number | undefined => (v === undefined ? undefined : publicValue(field, v));
    try {
      const pending = handler({
        type,
        budget: key.rule.name,
        key: key.perValue,
        window: key.rule.window,
        windowStart: new Date(key.start),
        resetAt: Number.isFinite(key.end) ? new Date(key.end) : undefined,
        limitType,
        limit: key.rule.limits[limitType] ?? 0,
        used: publicValue(field, facts.used),
        threshold: facts.threshold,
        requested: value(facts.requested),
        reserved: value(facts.reserved),
        modelId: call.modelId,
        attribution: call.attribution,
      });
      // An async handler's rejection is reported like a throw.
      reportRejection(pending, (error) => {
        this.reporter.error('onBudgetEvent', 'onBudgetEvent rejected (the call is unaffected)', error);
      });
    } catch (error) {
      this.reporter.error('onBudgetEvent', 'onBudgetEvent threw (the call is unaffected)', error);
    }
  }
}
