import type { Call, CallModel } from '../call.js';
import { BudgetExceededError } from '../errors/budget-exceeded-error.js';
import { ModelNotAllowedError } from '../errors/model-not-allowed-error.js';
import { UnpricedModelError } from '../errors/unpriced-model-error.js';
import { addUnits, FIELD_OF, LIMIT_OF, publicValue, units, type UnitField, type Units } from './amounts.js';
import type { BudgetContext } from './context.js';
import { nextReservationId } from './call-reservation-id.js';
import { withDeadline } from './deadline.js';
import { RESERVE_FITTING, unchanged, type MemoryBudgetStore } from './memory-store.js';
import { NO_ENTRIES } from './reservation-ids.js';
import type { InsuranceAllowance } from './insurance.js';
import { matchingKeys, type CounterKey } from './counter-key.js';
import { callMaxOutputTokens, heuristicInputTokens, readInput, requestCacheWrites, type CacheWrites } from './estimate.js';
import { firstLimitType } from './events.js';
import { forbiddingPolicy } from './policy.js';
import type { MatchSubject } from './rule.js';
import type { ReservationEntry, ReserveResult } from './store.js';
import { isPromise } from '../promise-like.js';

/** What an admitted call holds until it settles. Only the budget phases read it. */
export interface Reservation {
  /** A per-process random 128-bit prefix and a counter: collision-free across processes, so a re-sent store request is recognised. */
  readonly id: string;
  /** The counters it holds, and what it reserved on each (`entries[i]` on `keys[i]`; none on the built-in store's direct path, where each holds `estimate`). */
  readonly keys: readonly CounterKey[];
  readonly entries: readonly ReservationEntry[];
  /** What was reserved (the call's estimate), in store units. */
  readonly estimate: Units;
  /** `false` when the store failed and `onStoreError: 'allow'` let the call through unreserved. */
  readonly reserved: boolean;
  /** The store's hold on it ({@link ReserveResult.handle}), given back with the commit. */
  readonly handle?: unknown;
}

/** Operations whose model produces no output tokens (embeddings and rerank through InvokeModel). */
function producesNoOutput(call: Call): boolean {
  const op = call.model.invokeOperation;
  return (call.info.delivery === 'invoke' || call.info.delivery === 'invoke-stream') && (op === 'embeddings' || op === 'rerank');
}

function subjectOf(call: Call): MatchSubject {
  return { attribution: call.attribution, modelId: call.requestedModelId, baseModelId: call.model.baseModelId };
}

/** A valid estimate, or the heuristic's. */
function validEstimate(n: unknown, call: Call, input: unknown): number {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? Math.ceil(n) : heuristicInputTokens(call.info.operation, input);
}

/**
 * Admission, before anything is sent: model policies, then the call's estimate (input estimate +
 * its output cap) reserved against every matching budget, all or none. Throws
 * `ModelNotAllowedError` or `BudgetExceededError`; otherwise returns the reservation (or
 * `undefined` when no budget applies). Returns a promise only when the estimator or the store is
 * asynchronous.
 */
export class BudgetAdmission {
  /** The built-in in-memory store when the known counters read it live: its direct path then reserves. */
  private readonly direct: MemoryBudgetStore | undefined;

  constructor(
    private readonly c: BudgetContext,
    /** What `onStoreError: 'allow'` admits against while the store fails. */
    private readonly insurance: InsuranceAllowance,
  ) {
    this.direct = c.known.liveStore(c.store);
  }

  admit(call: Call, input: unknown): Reservation | undefined | Promise<Reservation | undefined> {
    const c = this.c;
    const subject = subjectOf(call);
    const policy = forbiddingPolicy(c.policies, subject);
    if (policy !== undefined) {
      c.counters.policyRejected(policy.name);
      throw new ModelNotAllowedError(policy.name, call.requestedModelId, call.model.baseModelId);
    }
    if (c.rules.length === 0) return undefined;
    // Only calls some rule matches pay for an estimate.
    const keys = matchingKeys(c.rules, subject, call.startedAt);
    if (keys.length === 0) return undefined;
    const model = this.checkPriced(call, keys);
    // Embeddings produce no output tokens: reserving an output cap for them would refuse calls that fit.
    const output = producesNoOutput(call) ? 0 : (callMaxOutputTokens(call, input) ?? c.defaultMaxOutputTokens);
    const estimator = c.estimator;
    if (estimator === undefined) {
      // The heuristic and the cache writes read from one pass over the input.
      const read = readInput(call.info.operation, input);
      return this.reserve(call, model, keys, read.tokens, output, read.cache);
    }
    const cache = requestCacheWrites(call.info.operation, input);
    let estimated: number | Promise<number>;
    try {
      estimated = estimator({ operation: call.info.operation, modelId: call.requestedModelId, baseModelId: call.model.baseModelId, input });
    } catch (error) {
      c.reporter.error('estimator', 'the input estimator threw; using the heuristic', error);
      estimated = heuristicInputTokens(call.info.operation, input);
    }
    if (!isPromise(estimated)) return this.reserve(call, model, keys, validEstimate(estimated, call, input), output, cache);
    return withDeadline(estimated, c.estimatorTimeoutMs).then(
      (n) => this.reserve(call, model, keys, validEstimate(n, call, input), output, cache),
      (error: unknown) => {
        c.reporter.error('estimator', 'the input estimator failed or did not answer in time; using the heuristic', error);
        return this.reserve(call, model, keys, heuristicInputTokens(call.info.operation, input), output, cache);
      },
    );
  }

  /** A cost budget must not be passed by a model without a price: refuse (`'deny'`) or report (`'warn'`). */
  private checkPriced(call: Call, keys: readonly CounterKey[]): CallModel {
    const model = this.c.costModelFor(call);
    if (model.price !== undefined || model.ref.kind === 'provisioned-model') return model;
    for (const key of keys) {
      if (!key.rule.limitsCost) continue;
      if (this.c.unpricedModels === 'deny') throw new UnpricedModelError(call.requestedModelId, model.pricedAs, key.rule.name);
      this.c.events.emit('unpriced', key, 'costUsd', { used: 0 }, { modelId: call.requestedModelId, attribution: call.attribution });
    }
    return model;
  }

  /**
   * The estimate priced as the call will pay: its model (or fallback), the requested service tier
   * and latency; a request that writes the prompt cache has its input priced at the cache-write
   * rate (an upper bound: the part that hits the cache costs less).
   */
  private estimateCost(call: Call, model: CallModel, inputTokens: number, outputTokens: number, cache: CacheWrites): number {
    try {
      const writes = cache === 'none' ? 0 : inputTokens;
      const usage = { inputTokens: inputTokens - writes, outputTokens, cacheReadInputTokens: 0, cacheWriteInputTokens: writes, cacheWrite1hInputTokens: cache === '1h' ? writes : 0 };
      return this.c.pricer.price(model.price, model.pricedAs, model.ref.kind === 'provisioned-model', usage, call.serviceTier, call.performanceLatency).costUsd ?? 0;
    } catch {
      return 0;
    }
  }

  private reserve(call: Call, model: CallModel, keys: readonly CounterKey[], inputTokens: number, outputTokens: number, cache: CacheWrites): Reservation | Promise<Reservation> {
    const c = this.c;
    const estimate = units({ inputTokens, outputTokens }, this.estimateCost(call, model, inputTokens, outputTokens, cache));
    const direct = this.direct;
    if (direct !== undefined && unchanged(direct)) {
      // Every counter has room (the common case): reserved with no request or result objects; the known counters read the store live.
      const id = nextReservationId();
      const handle = direct[RESERVE_FITTING](id, keys, estimate, call.startedAt, c.leaseMs);
      if (handle !== undefined) {
        for (let i = 0; i < keys.length; i++) c.known.touch(keys[i] as CounterKey);
        return { id, keys, entries: NO_ENTRIES, estimate, reserved: true, handle };
      }
    }
    return this.reserveInStore(call, keys, estimate);
  }

  /** The general path (any store; on the built-in one, a call that does not fit): a reserve request, its result decided. Apart, so the direct path compiles small. */
  private reserveInStore(call: Call, keys: readonly CounterKey[], estimate: Units): Reservation | Promise<Reservation> {
    const c = this.c;
    const entries = new Array<ReservationEntry>(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as CounterKey;
      entries[i] = { key: key.id, budget: key.rule.name, limits: key.rule.unitLimits, amounts: estimate, enforce: key.rule.enforce, windowEnd: key.end };
    }
    const id = nextReservationId();
    let result: ReserveResult | Promise<ReserveResult>;
    try {
      result = c.store.reserve({ id, entries, now: call.startedAt, leaseMs: c.leaseMs, fresh: true });
    } catch (error) {
      return this.storeFailed(call, { id, keys, entries, estimate, reserved: false }, error);
    }
    if (!isPromise(result)) return this.decide(call, { id, keys, entries, estimate, reserved: true, handle: result.handle }, result);
    return result.then(
      (r) => this.decide(call, { id, keys, entries, estimate, reserved: true, handle: r.handle }, r),
      (error: unknown) => this.storeFailed(call, { id, keys, entries, estimate, reserved: false }, error),
    );
  }

  /** The store failed: `unreserved` goes through unreserved within the insurance allowance (`'allow'`), or is refused. */
  private storeFailed(call: Call, unreserved: Reservation, error: unknown): Reservation {
    const c = this.c;
    c.counters.storeErrors++;
    c.reporter.error('store', `the budget store failed; calls are ${c.onStoreError === 'allow' ? `allowed within the insurance allowance (${this.insurance.fraction} of each limit per process)` : 'denied'} while it does (onStoreError: '${c.onStoreError}')`, error);
    const first = unreserved.keys[0];
    const estimate = unreserved.estimate;
    const who = { modelId: call.requestedModelId, attribution: call.attribution };
    if (first !== undefined) c.events.emit('store-error', first, firstLimitType(first), { used: 0, requested: estimate[FIELD_OF[firstLimitType(first)]] }, who);
    // Nothing was reserved in the store, but the usage is still committed when the call settles
    // (a store that is down buffers it), so totals stay exact once it is back. 'allow' is bounded
    // by the insurance allowance: past it, the call is refused like under 'deny'.
    if (first === undefined) return unreserved;
    if (c.onStoreError === 'allow' && this.insurance.admit(unreserved.id, unreserved.entries, call.startedAt).admitted) return unreserved;
    const limitType = firstLimitType(first);
    throw new BudgetExceededError({
      budget: first.rule.name,
      key: first.perValue,
      limitType,
      limit: first.rule.limits[limitType] ?? 0,
      used: 0,
      reserved: 0,
      requested: publicValue(FIELD_OF[limitType], estimate[FIELD_OF[limitType]]),
      resetAt: Number.isFinite(first.end) ? new Date(first.end) : undefined,
      reason: 'store-unavailable',
    });
  }

  private decide(call: Call, reservation: Reservation, result: ReserveResult): Reservation {
    const c = this.c;
    const { keys, estimate } = reservation;
    for (let i = 0; i < keys.length; i++) {
      const state = result.states[i];
      if (this.direct !== undefined) c.known.touch(keys[i] as CounterKey);
      else if (state !== undefined) c.known.remember(keys[i] as CounterKey, result.admitted ? { used: state.used, reserved: addUnits(state.reserved, estimate) } : state);
    }
    for (let i = 0; i < result.exceeded.length; i++) {
      const { index, field } = result.exceeded[i] as ReserveResult['exceeded'][number];
      this.event('exceeded', call, keys[index], result.states[index], field, estimate);
    }
    const rejected = result.admitted ? undefined : result.rejected;
    if (rejected === undefined) return reservation;
    const key = keys[rejected.index];
    const state = result.states[rejected.index];
    const limitType = LIMIT_OF[rejected.field];
    if (key !== undefined) {
      c.counters.rejected(key.rule.name, limitType);
      this.event('rejected', call, key, state, rejected.field, estimate);
    }
    const f = rejected.field;
    throw new BudgetExceededError({
      budget: key?.rule.name ?? '',
      key: key?.perValue,
      limitType,
      limit: key?.rule.limits[limitType] ?? 0,
      used: publicValue(f, state?.used[f] ?? 0),
      reserved: publicValue(f, state?.reserved[f] ?? 0),
      requested: publicValue(f, estimate[f]),
      resetAt: key !== undefined && Number.isFinite(key.end) ? new Date(key.end) : undefined,
      reason: 'limit',
    });
  }

  private event(type: 'rejected' | 'exceeded', call: Call, key: CounterKey | undefined, state: { used: Units; reserved: Units } | undefined, field: UnitField, estimate: Units): void {
    if (key === undefined || state === undefined) return;
    this.c.events.emit(type, key, LIMIT_OF[field], { used: state.used[field], reserved: state.reserved[field], requested: estimate[field] }, { modelId: call.requestedModelId, attribution: call.attribution });
  }
}
