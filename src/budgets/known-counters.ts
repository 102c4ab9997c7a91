import { ZERO_UNITS } from './amounts.js';
import type { CompiledRule } from './budget-rule.js';
import type { CounterKey, KnownSlot } from './counter-key.js';
import type { CounterState } from './store.js';
import { PEEK, type MemoryBudgetStore } from './memory-store.js';
import type { BudgetStore } from './store.js';

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
  // Per rule, per `per` value ('' for none): no key strings built per call. Each counter key
  // also points at its slot (`key.known`), so a call's keys reach their states without a lookup.
  private readonly byRule = new Map<CompiledRule, Map<string, KnownSlot>>();

  constructor(
    private readonly maxPerRule: number,
    /**
     * A store this process's counters can be read from at once (the built-in in-memory store):
     * states are then read from it live, and calls only {@link touch} their keys.
     */
    readonly live?: MemoryBudgetStore,
  ) {}

  /** Keeps `state` for `key` unless a newer window is already known. */
  remember(key: CounterKey, state: CounterState): void {
    const slot = key.known?.owner === this ? key.known : this.slotOf(key);
    if (slot === undefined) return;
    if (slot.key.start <= key.start) {
      slot.key = key;
      slot.state = state;
    }
  }

  /** The store read live when it is `store` (the budgets' own): admission and settlement then take its direct paths. */
  liveStore(store: BudgetStore): MemoryBudgetStore | undefined {
    return this.live === store ? this.live : undefined;
  }

  /** Notes that `key`'s counter was touched (its state is read live): no allocation once the key has its slot. */
  touch(key: CounterKey): void {
    if (key.known?.owner === this) return;
    const slot = this.slotOf(key);
    if (slot !== undefined && slot.key.start <= key.start) slot.key = key;
  }

  /** The slot of `key`'s counter, made on first sight (none past `maxPerRule` values), and linked from `key`. */
  private slotOf(key: CounterKey): KnownSlot | undefined {
    let values = this.byRule.get(key.rule);
    if (values === undefined) {
      values = new Map();
      this.byRule.set(key.rule, values);
    }
    const value = key.perValue ?? '';
    let slot = values.get(value);
    if (slot === undefined) {
      if (values.size >= this.maxPerRule) return undefined;
      slot = { key, state: { used: ZERO_UNITS, reserved: ZERO_UNITS }, owner: this };
      values.set(value, slot);
    }
    key.known = slot;
    return slot;
  }

  /** The known state of `key`'s counter in `key`'s window, if any. */
  get(key: CounterKey): CounterState | undefined {
    const slot = key.known?.owner === this ? key.known : this.byRule.get(key.rule)?.get(key.perValue ?? '');
    if (slot === undefined || slot.key.start !== key.start) return undefined;
    return this.live === undefined ? slot.state : this.live[PEEK](slot.key.id, Date.now());
  }

  *values(): IterableIterator<KnownCounter> {
    const live = this.live;
    const now = Date.now();
    for (const values of this.byRule.values())
      if (live === undefined) yield* values.values();
      else for (const slot of values.values()) yield { key: slot.key, state: live[PEEK](slot.key.id, now) };
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
