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
  private readonly byCounter = new Map<string, KnownCounter>();
  private readonly perRule = new Map<CompiledRule, number>();

  constructor(private readonly maxPerRule: number) {}

  private static slot(key: CounterKey): string {
    return `${key.rule.name}\u0001${key.perValue ?? ''}`;
  }

  /** Keeps `state` for `key` unless a newer window is already known. */
  remember(key: CounterKey, state: CounterState): void {
    const slot = KnownCounters.slot(key);
    const existing = this.byCounter.get(slot);
    if (existing !== undefined) {
      if (existing.key.start <= key.start) this.byCounter.set(slot, { key, state });
      return;
    }
    const count = this.perRule.get(key.rule) ?? 0;
    if (count >= this.maxPerRule) return;
    this.byCounter.set(slot, { key, state });
    this.perRule.set(key.rule, count + 1);
  }

  /** The known state of `key`'s counter in `key`'s window, if any. */
  get(key: CounterKey): CounterState | undefined {
    const k = this.byCounter.get(KnownCounters.slot(key));
    return k !== undefined && k.key.start === key.start ? k.state : undefined;
  }

  values(): IterableIterator<KnownCounter> {
    return this.byCounter.values();
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
