import { randomUUID } from 'node:crypto';
import type { Call } from '../call/call.js';
import type { OnceReporter } from '../diagnostics.js';
import { BudgetExceededError } from '../errors/budget-exceeded-error.js';
import { ModelNotAllowedError } from '../errors/model-not-allowed-error.js';
import type { Pricer } from '../pricing/pricer.js';
import type { Attribution, UsageRecord } from '../record.js';
import { LIMIT_TYPES, zeroAmounts, type Amounts, type LimitType, type Limits } from './amounts.js';
import { heuristicInputTokens, requestedMaxOutputTokens, type InputEstimator } from './estimate.js';
import { forbiddingPolicy, type CompiledPolicy } from './policy.js';
import type { CompiledRule, MatchSubject } from './rule.js';
import type { BudgetStore, CounterState, ReservationEntry, ReserveResult } from './store.js';
import { windowBounds, type BudgetWindow } from './window.js';

/** An event about a budget, delivered to `onBudgetEvent`. */
export interface BudgetEvent {
  /**
   * - `threshold`: committed usage crossed an `alertAt` fraction (once per threshold per window).
   * - `rejected`: a `block` budget stopped a call before it was sent.
   * - `exceeded`: a `warn` budget would have stopped a call; it was let through.
   * - `store-error`: the budget store failed; the call was allowed or denied per `onStoreError`.
   */
  readonly type: 'threshold' | 'rejected' | 'exceeded' | 'store-error';
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
}

interface Placed {
  readonly rule: CompiledRule;
  readonly perValue: string | undefined;
  readonly start: number;
  readonly end: number;
  readonly entry: ReservationEntry;
}

/** What a call holds: its reservation, settled on every path. */
export interface Reservation {
  readonly id: string;
  readonly placed: readonly Placed[];
}

interface Known {
  readonly rule: CompiledRule;
  readonly perValue: string | undefined;
  start: number;
  end: number;
  state: CounterState;
}

export interface BudgetManagerOptions {
  readonly rules: readonly CompiledRule[];
  readonly policies: readonly CompiledPolicy[];
  readonly store: BudgetStore;
  readonly estimator: InputEstimator | undefined;
  readonly defaultMaxOutputTokens: number;
  readonly leaseMs: number;
  readonly onStoreError: 'allow' | 'deny';
  readonly onBudgetEvent: ((event: BudgetEvent) => void) | undefined;
  readonly pricer: Pricer;
  readonly reporter: OnceReporter;
  /** Counters per rule kept in memory for `status()` and metrics. */
  readonly maxKeysPerRule: number;
  /** The model a call's cost is estimated at (its fallback's, for provisioned models that may spill). */
  readonly costModelFor?: (call: Call) => Call['model'];
}

/** Counts what the budget layer did, for metrics. */
export interface BudgetCounters {
  readonly rejections: Map<string, number>;
  readonly alerts: Map<string, number>;
  readonly policyRejections: Map<string, number>;
  storeErrors: number;
}

/** A counter's key: the budget, its `per` value and the window start. */
function counterKey(rule: CompiledRule, perValue: string | undefined, windowStart: number): string {
  return `${rule.name}\u0001${perValue ?? ''}\u0001${windowStart}`;
}

const idPrefix = randomUUID().slice(0, 8);
let idCounter = 0;

function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | undefined)?.then === 'function';
}

/**
 * Admission and accounting: applies model policies, reserves each call's estimate against every
 * matching budget (all or none) before it is sent, and commits actual usage when it settles.
 */
export class BudgetManager {
  readonly counters: BudgetCounters = { rejections: new Map(), alerts: new Map(), policyRejections: new Map(), storeErrors: 0 };
  private readonly known = new Map<string, Known>();
  /** Commits still being written (an asynchronous store), awaited by {@link drain}. */
  private readonly pending = new Set<Promise<void>>();
  private readonly keysPerRule = new Map<string, number>();

  constructor(private readonly o: BudgetManagerOptions) {}

  get active(): boolean {
    return this.o.rules.length > 0 || this.o.policies.length > 0;
  }

  private subject(call: Call): MatchSubject {
    return { attribution: call.attribution, modelId: call.requestedModelId, baseModelId: call.model.baseModelId };
  }

  /** The rules a call is subject to, with its `per` value for each. */
  private matching(subject: MatchSubject): { rule: CompiledRule; perValue: string | undefined }[] {
    const out: { rule: CompiledRule; perValue: string | undefined }[] = [];
    for (const rule of this.o.rules) {
      if (!rule.matches(subject)) continue;
      let perValue: string | undefined;
      if (rule.per !== undefined) {
        perValue = subject.attribution[rule.per];
        if (perValue === undefined) continue;
      }
      out.push({ rule, perValue });
    }
    return out;
  }

  /** Places matched rules in their current windows with what the call requests. */
  private place(matches: readonly { rule: CompiledRule; perValue: string | undefined }[], now: number, requested: Readonly<Amounts>): Placed[] {
    return matches.map(({ rule, perValue }) => {
      const { start, end } = windowBounds(rule.window, now);
      return { rule, perValue, start, end, entry: { key: counterKey(rule, perValue, start), limits: rule.limits, amounts: requested, enforce: rule.enforce, windowEnd: end } };
    });
  }

  /**
   * Policies and budgets for one call, before it is sent. Throws `ModelNotAllowedError` or
   * `BudgetExceededError`; otherwise records the reservation on the call. Returns a promise only
   * when an estimator or the store is asynchronous.
   */
  admit(call: Call, input: unknown): void | Promise<void> {
    const subject = this.subject(call);
    const policy = forbiddingPolicy(this.o.policies, subject);
    if (policy !== undefined) {
      this.counters.policyRejections.set(policy.name, (this.counters.policyRejections.get(policy.name) ?? 0) + 1);
      throw new ModelNotAllowedError(policy.name, call.requestedModelId, call.model.baseModelId);
    }
    if (this.o.rules.length === 0) return;
    // Only calls some rule matches pay for an estimate.
    const matches = this.matching(subject);
    if (matches.length === 0) return;
    const output = requestedMaxOutputTokens(call.info.operation, input) ?? this.o.defaultMaxOutputTokens;
    const estimator = this.o.estimator;
    if (estimator === undefined) return this.reserve(call, matches, heuristicInputTokens(call.info.operation, input), output);
    let estimated: number | Promise<number>;
    try {
      estimated = estimator({ operation: call.info.operation, modelId: call.requestedModelId, baseModelId: call.model.baseModelId, input });
    } catch (error) {
      this.o.reporter.error('estimator', 'the input estimator threw; using the heuristic', error);
      estimated = heuristicInputTokens(call.info.operation, input);
    }
    if (!isPromise(estimated)) return this.reserve(call, matches, validEstimate(estimated, call, input), output);
    return estimated.then(
      (n) => this.reserve(call, matches, validEstimate(n, call, input), output),
      (error: unknown) => {
        this.o.reporter.error('estimator', 'the input estimator failed; using the heuristic', error);
        return this.reserve(call, matches, heuristicInputTokens(call.info.operation, input), output);
      },
    );
  }

  private reserve(call: Call, matches: readonly { rule: CompiledRule; perValue: string | undefined }[], inputTokens: number, outputTokens: number): void | Promise<void> {
    const model = this.o.costModelFor?.(call) ?? call.model;
    let costUsd = 0;
    try {
      costUsd =
        this.o.pricer.price(model.price, model.pricedAs, model.ref.kind === 'provisioned-model', { inputTokens, outputTokens, cacheReadInputTokens: 0, cacheWriteInputTokens: 0, cacheWrite1hInputTokens: 0 }, undefined).costUsd ?? 0;
    } catch {
      costUsd = 0;
    }
    const requested: Amounts = { tokens: inputTokens + outputTokens, inputTokens, outputTokens, costUsd };
    const placed = this.place(matches, call.startedAt, requested);
    const id = `${idPrefix}-${(++idCounter).toString(36)}`;
    let result: ReserveResult | Promise<ReserveResult>;
    try {
      result = this.o.store.reserve({ id, entries: placed.map((p) => p.entry), now: call.startedAt, leaseMs: this.o.leaseMs });
    } catch (error) {
      this.storeFailed(call, id, placed, error);
      return;
    }
    if (isPromise(result)) {
      return result.then(
        (r) => {
          this.decide(call, id, placed, r);
        },
        (error: unknown) => {
          this.storeFailed(call, id, placed, error);
        },
      );
    }
    this.decide(call, id, placed, result);
  }

  private storeFailed(call: Call, id: string, placed: readonly Placed[], error: unknown): void {
    this.counters.storeErrors++;
    this.o.reporter.error('store', `the budget store failed; calls are ${this.o.onStoreError === 'allow' ? 'allowed without budget checks' : 'denied'} while it does (onStoreError: '${this.o.onStoreError}')`, error);
    const first = placed[0];
    if (first !== undefined) this.emit('store-error', first, call, { used: 0 }, first.entry.amounts);
    if (this.o.onStoreError === 'allow' || first === undefined) {
      // Nothing was reserved, but the usage is still committed when the call settles (a store
      // that is down buffers it), so totals stay exact once it is back.
      call.reservation = { id, placed };
      return;
    }
    const limitType = LIMIT_TYPES.find((t) => first.rule.limits[t] !== undefined) ?? 'tokens';
    throw new BudgetExceededError({
      budget: first.rule.name,
      key: first.perValue,
      limitType,
      limit: first.rule.limits[limitType] ?? 0,
      used: 0,
      reserved: 0,
      requested: first.entry.amounts[limitType],
      resetAt: Number.isFinite(first.end) ? new Date(first.end) : undefined,
    });
  }

  private decide(call: Call, id: string, placed: readonly Placed[], result: ReserveResult): void {
    placed.forEach((p, i) => {
      const state = result.states[i];
      if (state !== undefined) this.remember(p, result.admitted ? { used: state.used, reserved: add(state.reserved, p.entry.amounts) } : state);
    });
    for (const { index, limit } of result.exceeded) {
      const p = placed[index];
      const state = result.states[index];
      if (p !== undefined && state !== undefined) this.emit('exceeded', p, call, { used: state.used[limit], reserved: state.reserved[limit] }, p.entry.amounts, limit);
    }
    if (!result.admitted && result.rejected !== undefined) {
      const p = placed[result.rejected.index];
      const state = result.states[result.rejected.index];
      if (p === undefined || state === undefined) return;
      const limitType = result.rejected.limit;
      const name = `${p.rule.name}\u0001${limitType}`;
      this.counters.rejections.set(name, (this.counters.rejections.get(name) ?? 0) + 1);
      this.emit('rejected', p, call, { used: state.used[limitType], reserved: state.reserved[limitType] }, p.entry.amounts, limitType);
      throw new BudgetExceededError({
        budget: p.rule.name,
        key: p.perValue,
        limitType,
        limit: p.rule.limits[limitType] ?? 0,
        used: state.used[limitType],
        reserved: state.reserved[limitType],
        requested: p.entry.amounts[limitType],
        resetAt: Number.isFinite(p.end) ? new Date(p.end) : undefined,
      });
    }
    call.reservation = { id, placed };
  }

  /** Commits a settled call's actual usage and releases its reservation. Never throws. */
  commit(call: Call, record: UsageRecord): void {
    const reservation = call.reservation;
    if (reservation === undefined) return;
    call.reservation = undefined;
    const input = record.inputTokens + record.cacheReadInputTokens + record.cacheWriteInputTokens;
    const actual: Amounts = { tokens: input + record.outputTokens, inputTokens: input, outputTokens: record.outputTokens, costUsd: record.costUsd ?? 0 };
    const request = { id: reservation.id, entries: reservation.placed.map((p) => ({ key: p.entry.key, actual, windowEnd: p.end })), now: Date.now() };
    try {
      const result = this.o.store.commit(request);
      if (isPromise(result)) {
        const done = result.then(
          (r) => {
            this.afterCommit(call, reservation, r.applied, r.before, r.after);
          },
          (error: unknown) => {
            this.counters.storeErrors++;
            this.o.reporter.error('commit', 'the budget store could not commit usage', error);
          },
        );
        this.pending.add(done);
        void done.finally(() => this.pending.delete(done));
      } else this.afterCommit(call, reservation, result.applied, result.before, result.after);
    } catch (error) {
      this.counters.storeErrors++;
      this.o.reporter.error('commit', 'the budget store could not commit usage', error);
    }
  }

  private afterCommit(call: Call, reservation: Reservation, applied: boolean, before: readonly Readonly<Amounts>[], after: readonly Readonly<Amounts>[]): void {
    if (!applied) return;
    reservation.placed.forEach((p, i) => {
      const b = before[i];
      const a = after[i];
      if (b === undefined || a === undefined) return;
      const known = this.known.get(`${p.rule.name}\u0001${p.perValue ?? ''}`);
      if (known !== undefined && known.start === p.start) known.state = { used: a, reserved: sub(known.state.reserved, p.entry.amounts) };
      for (const fraction of p.rule.alertAt) {
        for (const limitType of LIMIT_TYPES) {
          const limit = p.rule.limits[limitType];
          if (limit === undefined) continue;
          const mark = fraction * limit;
          if (b[limitType] < mark && a[limitType] >= mark) {
            const name = `${p.rule.name}\u0001${fraction}`;
            this.counters.alerts.set(name, (this.counters.alerts.get(name) ?? 0) + 1);
            this.emit('threshold', p, call, { used: a[limitType] }, undefined, limitType, fraction);
          }
        }
      }
    });
  }

  /** Keeps the latest state of a counter, one per rule and `per` value (a new window replaces the old). */
  private remember(p: Placed, state: CounterState): void {
    const id = `${p.rule.name}\u0001${p.perValue ?? ''}`;
    const existing = this.known.get(id);
    if (existing !== undefined) {
      if (existing.start > p.start) return;
      existing.start = p.start;
      existing.end = p.end;
      existing.state = state;
      return;
    }
    const count = this.keysPerRule.get(p.rule.name) ?? 0;
    if (count >= this.o.maxKeysPerRule) return;
    this.known.set(id, { rule: p.rule, perValue: p.perValue, start: p.start, end: p.end, state });
    this.keysPerRule.set(p.rule.name, count + 1);
  }

  private emit(
    type: BudgetEvent['type'],
    p: Placed,
    call: Call,
    state: { used: number; reserved?: number },
    requested: Readonly<Amounts> | undefined,
    limitType: LimitType = LIMIT_TYPES.find((t) => p.rule.limits[t] !== undefined) ?? 'tokens',
    threshold?: number,
  ): void {
    const handler = this.o.onBudgetEvent;
    if (handler === undefined) return;
    try {
      handler({
        type,
        budget: p.rule.name,
        key: p.perValue,
        window: p.rule.window,
        windowStart: new Date(p.start),
        resetAt: Number.isFinite(p.end) ? new Date(p.end) : undefined,
        limitType,
        limit: p.rule.limits[limitType] ?? 0,
        used: state.used,
        threshold,
        requested: requested?.[limitType],
        reserved: state.reserved,
        modelId: call.requestedModelId,
        attribution: call.attribution,
      });
    } catch (error) {
      this.o.reporter.error('onBudgetEvent', 'onBudgetEvent threw (the call is unaffected)', error);
    }
  }

  private statusOf(p: { rule: CompiledRule; perValue: string | undefined; start: number; end: number }, state: CounterState): BudgetStatus {
    const remaining: Partial<Amounts> = {};
    for (const t of LIMIT_TYPES) {
      const limit = p.rule.limits[t];
      if (limit !== undefined) remaining[t] = Math.max(0, limit - state.used[t] - state.reserved[t]);
    }
    return {
      budget: p.rule.name,
      key: p.perValue,
      window: p.rule.window,
      windowStart: new Date(p.start),
      resetAt: Number.isFinite(p.end) ? new Date(p.end) : undefined,
      limit: p.rule.limits,
      used: state.used,
      reserved: state.reserved,
      remaining,
      action: p.rule.enforce ? 'block' : 'warn',
    };
  }

  /**
   * Every budget counter in its current window: rules without `per` always, `per` rules for the
   * values this process has seen (up to `maxKeysPerRule` each), read fresh from the store.
   */
  async status(now = Date.now()): Promise<BudgetStatus[]> {
    const items: { rule: CompiledRule; perValue: string | undefined; start: number; end: number; key: string }[] = [];
    for (const rule of this.o.rules) {
      const { start, end } = windowBounds(rule.window, now);
      if (rule.per === undefined) {
        items.push({ rule, perValue: undefined, start, end, key: counterKey(rule, undefined, start) });
        continue;
      }
      for (const k of this.known.values())
        if (k.rule === rule && k.start === start) items.push({ rule, perValue: k.perValue, start, end, key: counterKey(rule, k.perValue, start) });
    }
    const states = await this.o.store.read(
      items.map((i) => i.key),
      now,
    );
    return items.map((item, i) => this.statusOf(item, states[i] ?? { used: zeroAmounts(), reserved: zeroAmounts() }));
  }

  /**
   * Would a call with this attribution to this model be admitted now? Nothing is reserved.
   * `estimate` is what the call would need (default: one token, so "is there any room left").
   */
  async check(attribution: Attribution, modelId: string, baseModelId: string | undefined, estimate?: Partial<Amounts>, now = Date.now()): Promise<BudgetCheck> {
    const subject: MatchSubject = { attribution, modelId, baseModelId };
    const policy = forbiddingPolicy(this.o.policies, subject);
    const requested: Amounts = { tokens: 1, inputTokens: 1, outputTokens: 1, costUsd: 0, ...estimate };
    const placed = this.place(this.matching(subject), now, requested);
    const states = await this.o.store.read(
      placed.map((p) => p.entry.key),
      now,
    );
    let blockedBy: BudgetCheck['blockedBy'];
    const budgets = placed.map((p, i) => {
      const state = states[i] ?? { used: zeroAmounts(), reserved: zeroAmounts() };
      if (blockedBy === undefined && p.rule.enforce)
        for (const t of LIMIT_TYPES) {
          const limit = p.rule.limits[t];
          if (limit !== undefined && state.used[t] + state.reserved[t] + requested[t] > limit + 1e-9) {
            blockedBy = { budget: p.rule.name, key: p.perValue, limitType: t };
            break;
          }
        }
      return this.statusOf(p, state);
    });
    return { allowed: policy === undefined && blockedBy === undefined, blockedBy, deniedByPolicy: policy?.name, budgets };
  }

  /** Resolves when every commit in flight has been written (or failed and been buffered by the store). */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** Last known state of each counter this process has touched (for metrics; no store round trip). */
  knownCounters(now = Date.now()): readonly BudgetStatus[] {
    const out: BudgetStatus[] = [];
    for (const k of this.known.values()) if (k.end > now) out.push(this.statusOf(k, k.state));
    return out;
  }
}

function add(a: Readonly<Amounts>, b: Readonly<Amounts>): Amounts {
  return { tokens: a.tokens + b.tokens, inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens, costUsd: a.costUsd + b.costUsd };
}

function sub(a: Readonly<Amounts>, b: Readonly<Amounts>): Amounts {
  return {
    tokens: Math.max(0, a.tokens - b.tokens),
    inputTokens: Math.max(0, a.inputTokens - b.inputTokens),
    outputTokens: Math.max(0, a.outputTokens - b.outputTokens),
    costUsd: Math.max(0, a.costUsd - b.costUsd),
  };
}

function validEstimate(n: number, call: Call, input: unknown): number {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? Math.ceil(n) : heuristicInputTokens(call.info.operation, input);
}
