import { attributionValue } from '../attribution/normalize.js';
import { callMaxOutputTokens, heuristicInputTokens, type InputEstimator } from '../budgets/estimate.js';
import type { MatchSubject } from '../budgets/rule.js';
import type { Call, CallModel } from '../call.js';
import type { OnceReporter } from '../diagnostics.js';
import { QuotaExceededError } from '../errors/quota-exceeded-error.js';
import { quotaNeed } from './arithmetic.js';
import { outputBurndown } from './burndown.js';
import { quotaNow } from './clock.js';
import type { QuotaCounters } from './counters.js';
import type { Acquired, GovernorHold, QuotaGovernor } from './governor.js';
import type { QuotaSubject } from './match.js';
import { callSubject, quotaSubject } from './subject.js';
import { isPromise } from '../promise-like.js';

/** One quota an admitted call holds, with the burndown its charge is counted at. */
export interface HeldQuota {
  readonly hold: GovernorHold;
  readonly burndown: number;
}

/** What an admitted call holds of its quotas until it settles. */
export interface QuotaTicket {
  readonly holds: readonly HeldQuota[];
  /** The input tokens admission estimated (cache included). */
  readonly inputEstimate: number;
}

/** What admission may be told by the transport. */
export interface QuotaAdmitOptions {
  /** The input estimate budgets already made, if any (so it is made once). */
  readonly inputEstimate?: number | undefined;
  /** Whether the transport can send the call to another model (`onLimit: 'fallback'`). @defaultValue `true` */
  readonly redirectable?: boolean | undefined;
  /** The caller's signal: a call aborted while it waits stops waiting. */
  readonly signal?: AbortSignal | undefined;
}

export interface QuotaAdmissionDeps {
  readonly reporter: OnceReporter;
  readonly estimator: InputEstimator | undefined;
  readonly defaultMaxOutputTokens: number;
  readonly resolve: (modelId: string, now: number) => CallModel;
  /** Points a call at another model, recorded like provisioned spill (`fallback: { from, reason }`). */
  readonly redirect: (call: Call, from: string, to: string, reason: string) => void;
  /**
   * The name of the model policy that forbids a call with this attribution to this model, if
   * any: a quota never sends a call to a fallback a policy forbids it. Asked with no attribution,
   * it names only a policy that forbids the model for every call (policy matches on attribution
   * keys never match a call without them).
   */
  readonly forbidden: (subject: MatchSubject) => string | undefined;
}

/** One call's way through its quotas. */
interface Attempt {
  readonly call: Call;
  readonly subject: QuotaSubject;
  readonly matched: readonly QuotaGovernor[];
  readonly input: number;
  readonly maxOut: number;
  readonly options: QuotaAdmitOptions;
  readonly holds: HeldQuota[];
}

const validCount = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0;

/**
 * Admission against quotas, after budgets: every quota the call matches must hold its need
 * (input estimate + `maxTokens` × burndown, one request), all or none. A quota without room
 * follows its `onLimit`. Throws `QuotaExceededError`; returns a promise only when the call
 * waits, the estimator or the store is asynchronous.
 */
export class QuotaAdmission {
  constructor(
    private readonly governors: readonly QuotaGovernor[],
    private readonly counters: QuotaCounters,
    private readonly d: QuotaAdmissionDeps,
  ) {}

  admit(call: Call, input: unknown, options: QuotaAdmitOptions): QuotaTicket | undefined | Promise<QuotaTicket | undefined> {
    const subject = callSubject(call);
    const matched = this.governors.filter((g) => g.quota.matches(subject));
    if (matched.length === 0) return undefined;
    const embeddings = (call.info.delivery === 'invoke' || call.info.delivery === 'invoke-stream') && call.model.invokeOperation === 'embeddings';
    const maxOut = embeddings ? 0 : (callMaxOutputTokens(call, input) ?? this.d.defaultMaxOutputTokens);
    const estimate = this.estimate(call, input, options.inputEstimate);
    const start = (n: number): QuotaTicket | Promise<QuotaTicket> => this.acquireFrom({ call, subject, matched, input: n, maxOut, options, holds: [] }, 0);
    return isPromise(estimate) ? estimate.then(start) : start(estimate);
  }

  private estimate(call: Call, input: unknown, known: number | undefined): number | Promise<number> {
    if (validCount(known)) return known;
    const heuristic = (): number => heuristicInputTokens(call.info.operation, input);
    const estimator = this.d.estimator;
    if (estimator === undefined) return heuristic();
    try {
      const n = estimator({ operation: call.info.operation, modelId: call.modelId, baseModelId: call.model.baseModelId, input });
      if (!isPromise(n)) return validCount(n) ? Math.ceil(n) : heuristic();
      return n.then(
        (v) => (validCount(v) ? Math.ceil(v) : heuristic()),
        () => heuristic(),
      );
    } catch (error) {
      this.d.reporter.error('quota-estimator', 'the input estimator threw; quotas use the heuristic', error);
      return heuristic();
    }
  }

  /** The terms a call asks of one quota: its share key and weight, the burndown and the need. */
  private static terms(g: QuotaGovernor, call: Call, baseModelId: string | undefined, input: number, maxOut: number) {
    const shares = g.quota.shares;
    const team = shares === undefined ? '' : (attributionValue(call.attribution, shares.per) ?? '');
    const burndown = g.quota.burndown ?? outputBurndown(baseModelId);
    return { team, weight: shares?.weightOf(team) ?? 1, burndown, need: quotaNeed(input, maxOut, burndown) };
  }

  /** Holds the matched quotas from `i` on, in turn (synchronously while the store answers so). */
  private acquireFrom(c: Attempt, i: number): QuotaTicket | Promise<QuotaTicket> {
    const g = c.matched[i];
    if (g === undefined) return { holds: c.holds, inputEstimate: c.input };
    const t = QuotaAdmission.terms(g, c.call, c.subject.baseModelId, c.input, c.maxOut);
    // Aborted while waiting, or the store failed: the call is not sent with these holds, so the
    // quotas held before this one are given back (else held until their lease runs out).
    const abandon = (error: unknown): never => {
      this.release(c.holds);
      throw error;
    };
    let got: Acquired | Promise<Acquired>;
    try {
      got = g.acquire(t.team, t.weight, t.need, g.quota.onLimit === 'wait', c.options.signal);
    } catch (error) {
      return abandon(error);
    }
    const next = (r: Acquired): QuotaTicket | Promise<QuotaTicket> => {
      if (r instanceof QuotaExceededError) return this.refused(c, g, r);
      c.holds.push({ hold: r, burndown: t.burndown });
      return this.acquireFrom(c, i + 1);
    };
    return isPromise(got) ? got.then(next, abandon) : next(got);
  }

  /** A quota had no room: what was held is given back; `'fallback'` tries its fallback, else the refusal is thrown. */
  private refused(c: Attempt, g: QuotaGovernor, refusal: QuotaExceededError): QuotaTicket | Promise<QuotaTicket> {
    this.release(c.holds);
    if (g.quota.onLimit !== 'fallback' || refusal.reason === 'too-large' || c.options.redirectable === false) return this.fail(g, refusal);
    return this.fallback(c, g).then((moved) => (moved === undefined ? this.fail(g, refusal) : { holds: moved, inputEstimate: c.input }));
  }

  private fail(g: QuotaGovernor, refusal: QuotaExceededError): never {
    this.counters.refused(g.quota.name, refusal.reason);
    if (refusal.reason !== 'too-large') this.counters.avoided(g.quota.name);
    throw refusal;
  }

  /**
   * Sends the call to the quota's fallback if the model policies allow the call there and every
   * quota the fallback draws on has room now; `undefined` when not.
   */
  private async fallback(c: Attempt, from: QuotaGovernor): Promise<HeldQuota[] | undefined> {
    const to = from.quota.fallback;
    if (to === undefined) return undefined;
    const model = this.d.resolve(to, Date.now());
    const subject = quotaSubject(c.call.attribution, to, model, c.call.serverAddress);
    const policy = this.d.forbidden(subject);
    if (policy !== undefined) {
      const name = from.quota.name.slice(0, 200);
      this.d.reporter.warn(`quota-fallback-policy:${name}:${to}:${policy}`, `quota "${name}"'s fallback "${to.slice(0, 200)}" is forbidden by policy "${policy.slice(0, 200)}" for this call; refused`);
      return undefined;
    }
    const holds: HeldQuota[] = [];
    try {
      for (const g of this.governors.filter((x) => x.quota.matches(subject))) {
        const t = QuotaAdmission.terms(g, c.call, model.baseModelId, c.input, c.maxOut);
        const got = await g.acquire(t.team, t.weight, t.need, false);
        if (got instanceof QuotaExceededError) {
          this.release(holds);
          return undefined;
        }
        holds.push({ hold: got, burndown: t.burndown });
      }
      this.d.redirect(c.call, c.call.modelId, to, 'quota');
    } catch (error) {
      // The call is not sent with these holds (a store failed): they go back.
      this.release(holds);
      throw error;
    }
    this.counters.avoided(from.quota.name);
    return holds;
  }

  /** Gives back holds of a call that is not sent. */
  release(holds: readonly HeldQuota[]): void {
    const now = quotaNow();
    for (const h of holds) {
      try {
        h.hold.governor.settle(h.hold, 0, now);
      } catch (error) {
        // One store failing to release must not keep the others held, nor replace the caller's error.
        this.d.reporter.error('quota-release', 'a quota store failed to release a hold (it is released when its lease runs out)', error);
      }
    }
  }
}
