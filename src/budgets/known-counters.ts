import type { CompiledRule } from './budget-rule.js';
import type { CounterKey } from './counter-key.js';
import type { CounterState } from './store.js';

/** The last state this process saw of one counter. */
export interface KnownCounter {
  readonly key: CounterKey;
  readonly state: CounterState;
}

/**
 * The latest state of each counter this process has touched, one per rule and `per` value (a new
 * window replaces the old), for `status()`, metrics and a store that cannot be read. Bounded:
 * at most `maxPerRule` `per` values per rule.
 */
export class KnownCounters {
  // Per rule, per `per` value ('' for none): no key strings built per call.
  private readonly byRule = new Map<CompiledRule, Map<string, { key: CounterKey; state: CounterState }>>();

  constructor(private readonly maxPerRule: number) {}

  /** Keeps `state` for `key` unless a newer window is already known. */
  remember(key: CounterKey, state: CounterState): void {
    let values = this.byRule.get(key.rule);
    if (values === undefined) {
      values = new Map();
      this.byRule.set(key.rule, values);
    }
    const value = key.perValue ?? '';
    const existing = values.get(value);
    if (existing !== undefined) {
      if (existing.key.start <= key.start) {
        existing.key = key;
        existing.state = state;
      }
      return;
    }
    if (values.size >= this.maxPerRule) return;
    values.set(value, { key, state });
  }

  /** The known state of `key`'s counter in `key`'s window, if any. */
  get(key: CounterKey): CounterState | undefined {
    const k = this.byRule.get(key.rule)?.get(key.perValue ?? '');
    return k !== undefined && k.key.start === key.start ? k.state : undefined;
  }

  *values(): IterableIterator<KnownCounter> {
    for (const values of this.byRule.values()) yield* values.values();
  }
}

/** What the budget layer did, for metrics: rejections by budget and limit type, alerts by budget and threshold. */
export class BudgetCounters {
  readonly rejections = new Map<string, { readonly budget: string; readonly limitType: string; count: number }>();
  readonly alerts = new Map<string, { readonly budget: string; readonly threshold: number; count: number }>();
  readonly policyRejections = new Map<string, number>();
  storeErrors = 0;

  rejected(budget: string, limitType: string): void {
    const id = `${budget}\u0001${limitType}`;
    const e = this.rejections.get(id);
    if (e !== undefined) e.count++;
    else this.rejections.set(id, { budget, limitType, count: 1 });
  }

  alerted(budget: string, threshold: number): void {
    const id = `${budget}\u0001${threshold}`;
    const e = this.alerts.get(id);
    if (e !== undefined) e.count++;
    else this.alerts.set(id, { budget, threshold, count: 1 });
  }

  policyRejected(policy: string): void {
    this.policyRejections.set(policy, (this.policyRejections.get(policy) ?? 0) + 1);
  }
}
