import type { Attribution } from '../record.js';
import { amountsToUnits, FIELD_OF, LIMIT_TYPES, publicValue, toAmounts, ZERO_UNITS, type Amounts, type LimitType, type Limits } from './amounts.js';
import type { BudgetContext } from './context.js';
import { cachedCounterKey as counterKey, matchingKeys, type CounterKey } from './counter-key.js';
import { forbiddingPolicy } from './policy.js';
import type { CounterState } from './store.js';
import type { BudgetWindow } from './window.js';

/** One budget counter's state in the current window. */
export interface BudgetStatus {
  readonly budget: string;
  readonly key: string | undefined;
  readonly window: BudgetWindow;
  readonly windowStart: Date;
  readonly resetAt: Date | undefined;
  readonly limit: Limits;
  readonly used: Readonly<Amounts>;
  readonly reserved: Readonly<Amounts>;
  /** Per limit type: `limit − used − reserved`, never below 0. */
  readonly remaining: Readonly<Partial<Amounts>>;
  readonly action: 'block' | 'warn';
  /**
   * `true` when the budget store could not be read: the values are the last this process saw
   * (zero for counters it never touched). Absent when they were read from the store.
   */
  readonly stale?: true;
}

/** The answer of `finops.budgets.check()`. */
export interface BudgetCheck {
  /** Whether a call like this would be admitted now (no reservation is made). */
  readonly allowed: boolean;
  /** The first budget that would stop it. */
  readonly blockedBy: { readonly budget: string; readonly key: string | undefined; readonly limitType: LimitType } | undefined;
  /** The model policy that forbids it, if any. */
  readonly deniedByPolicy: string | undefined;
  /** Every matching budget's state. */
  readonly budgets: readonly BudgetStatus[];
  /** `true` when the store could not be read and the answer rests on what this process last saw. */
  readonly stale?: true;
}

const EMPTY_STATE: CounterState = { used: ZERO_UNITS, reserved: ZERO_UNITS };

function statusOf(key: CounterKey, state: CounterState, stale: boolean): BudgetStatus {
  const used = toAmounts(state.used);
  const reserved = toAmounts(state.reserved);
  const remaining: Partial<Amounts> = {};
  for (const t of LIMIT_TYPES) {
    const f = FIELD_OF[t];
    const limit = key.rule.unitLimits[f];
    if (limit !== undefined) remaining[t] = publicValue(f, Math.max(0, limit - state.used[f] - state.reserved[f]));
  }
  const status: BudgetStatus = {
    budget: key.rule.name,
    key: key.perValue,
    window: key.rule.window,
    windowStart: new Date(key.start),
    resetAt: Number.isFinite(key.end) ? new Date(key.end) : undefined,
    limit: key.rule.limits,
    used,
    reserved,
    remaining,
    action: key.rule.enforce ? 'block' : 'warn',
  };
  return stale ? { ...status, stale: true } : status;
}

/** `status()` and `check()`: reads from the store, nothing reserved; the last known state when the store cannot answer. */
export class BudgetViews {
  constructor(private readonly c: BudgetContext) {}

  private async read(keys: readonly CounterKey[], now: number): Promise<{ states: readonly CounterState[]; stale: boolean }> {
    try {
      const states = await this.c.store.read(
        keys.map((k) => ({ key: k.id, budget: k.rule.name })),
        now,
      );
      return { states, stale: false };
    } catch (error) {
      this.c.counters.storeErrors++;
      this.c.reporter.error('status', 'the budget store could not be read; budget status shows the last state this process saw (stale: true)', error);
      return { states: keys.map((k) => this.c.known.get(k) ?? EMPTY_STATE), stale: true };
    }
  }

  /**
   * Every budget counter in its current window: rules without `per` always, `per` rules for the
   * values this process has seen, read fresh from the store (or marked `stale`).
   */
  async status(now = Date.now()): Promise<BudgetStatus[]> {
    const keys: CounterKey[] = [];
    for (const rule of this.c.rules) {
      if (rule.per === undefined) {
        keys.push(counterKey(rule, undefined, now));
        continue;
      }
      for (const k of this.c.known.values()) if (k.key.rule === rule) keys.push(counterKey(rule, k.key.perValue, now));
    }
    const { states, stale } = await this.read(keys, now);
    return keys.map((k, i) => statusOf(k, states[i] ?? EMPTY_STATE, stale));
  }

  /** Would a call with this attribution to this model be admitted now? `estimate` defaults to one token. */
  async check(attribution: Attribution, modelId: string, baseModelId: string | undefined, estimate?: Partial<Amounts>, now = Date.now()): Promise<BudgetCheck> {
    const subject = { attribution, modelId, baseModelId };
    const policy = forbiddingPolicy(this.c.policies, subject);
    const requested = amountsToUnits({ tokens: 1, inputTokens: 1, outputTokens: 1, costUsd: 0, ...estimate });
    const keys = matchingKeys(this.c.rules, subject, now);
    const { states, stale } = await this.read(keys, now);
    let blockedBy: BudgetCheck['blockedBy'];
    const budgets = keys.map((k, i) => {
      const state = states[i] ?? EMPTY_STATE;
      if (blockedBy === undefined && k.rule.enforce)
        for (const t of LIMIT_TYPES) {
          const f = FIELD_OF[t];
          const limit = k.rule.unitLimits[f];
          if (limit !== undefined && state.used[f] + state.reserved[f] + requested[f] > limit) {
            blockedBy = { budget: k.rule.name, key: k.perValue, limitType: t };
            break;
          }
        }
      return statusOf(k, state, stale);
    });
    const answer: BudgetCheck = { allowed: policy === undefined && blockedBy === undefined, blockedBy, deniedByPolicy: policy?.name, budgets };
    return stale ? { ...answer, stale: true } : answer;
  }

  /** Last known state of each counter this process has touched, in its current window (for metrics; no store round trip). */
  knownStatuses(now = Date.now()): BudgetStatus[] {
    const out: BudgetStatus[] = [];
    for (const k of this.c.known.values()) if (k.key.end > now) out.push(statusOf(k.key, k.state, false));
    return out;
  }
}
