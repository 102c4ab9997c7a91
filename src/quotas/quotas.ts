import type { Call, Settlement } from '../call.js';
import { attributionValue } from '../attribution/normalize.js';
import { ConfigurationError } from '../errors/configuration-error.js';
import type { QuotaAmount } from './amount.js';
import { quotaCharge } from './arithmetic.js';
import { outputBurndown } from './burndown.js';
import type { QuotasResolvedConfig } from './config.js';
import { quotaNow } from './clock.js';
import { QuotaCounters } from './counters.js';
import { QuotaGovernor } from './governor.js';
import { MemoryQuotaStore } from './memory-store.js';
import { QuotaAdmission, type QuotaAdmissionDeps, type QuotaAdmitOptions, type QuotaTicket } from './quota-admission.js';
import type { QuotaStore } from './store.js';
import { modelSubject, quotaSubject } from './subject.js';
import { parseModelId } from '../model/model-id.js';

/** One quota now, as this process sees it. */
export interface QuotaStatus {
  readonly quota: string;
  /** The window the limits apply to, in ms. */
  readonly windowMs: number;
  /** As configured: tokens and requests (`undefined`: no request limit) per window. */
  readonly limit: { readonly tokens: number; readonly requests: number | undefined };
  /** What the governor paces against now: less than `limit` for a while after Bedrock throttled. */
  readonly believedLimit: { readonly tokens: number; readonly requests: number | undefined };
  /** Charged in the window plus held by calls in flight (this process's, or the fleet's share this process knows). */
  readonly inUse: QuotaAmount;
  /** Calls waiting for room now. */
  readonly waiting: number;
  /** Use per share key value (team), for shared quotas. */
  readonly teams: readonly { readonly team: string; readonly inUse: QuotaAmount }[];
  /** With a shared store: room leased to all processes. */
  readonly leased?: QuotaAmount;
  /** Since the plugin started: calls that waited for room (and how many of them timed out), calls refused, throttles avoided and 429s seen. */
  readonly counts: { readonly waited: number; readonly timedOut: number; readonly refused: number; readonly throttlesAvoided: number; readonly throttlesSeen: number };
}

const finite = (n: number): number | undefined => (n === Infinity ? undefined : n);

/**
 * Bedrock on-demand quotas, by phase: admission (holds, waits, refusals, fallback) before a
 * call is sent, settlement (the charge Bedrock counts, the rest released), throttles (the
 * believed limit shrinks), `status()`.
 */
export class Quotas {
  readonly counters = new QuotaCounters();
  readonly store: QuotaStore;
  readonly governors: readonly QuotaGovernor[];
  readonly active: boolean;
  private readonly admission: QuotaAdmission;
  private readonly reporter: QuotaAdmissionDeps['reporter'];

  constructor(config: QuotasResolvedConfig, deps: QuotaAdmissionDeps) {
    this.reporter = deps.reporter;
    Quotas.assertFallbacksAllowed(config, deps);
    this.store = config.quotaStore ?? new MemoryQuotaStore();
    this.governors = config.quotas.map((q) => new QuotaGovernor(q, this.store, this.counters));
    this.active = this.governors.length > 0;
    this.admission = new QuotaAdmission(this.governors, this.counters, deps);
    const byName = new Map(this.governors.map((g) => [g.quota.name, g]));
    this.store.onChange?.((name) => byName.get(name)?.kick());
  }

  /** Throws a {@link ConfigurationError} for a fallback a model policy forbids for every call: the quota could never use it. */
  private static assertFallbacksAllowed(config: QuotasResolvedConfig, deps: QuotaAdmissionDeps): void {
    const now = Date.now();
    config.quotas.forEach((q, i) => {
      if (q.fallback === undefined) return;
      // Without attribution, only a policy that forbids the model whatever the attribution answers.
      const policy = deps.forbidden(quotaSubject({}, q.fallback, deps.resolve(q.fallback, now), undefined));
      if (policy !== undefined) throw new ConfigurationError(`quotas[${i}] ("${q.name}").fallback`, `"${q.fallback}" is forbidden by policy "${policy}" for every call, so no call could be sent there`);
    });
  }

  /** Holds the call's quotas, or throws `QuotaExceededError`; `undefined` when no quota applies. */
  admit(call: Call, input: unknown, options: QuotaAdmitOptions = {}): QuotaTicket | undefined | Promise<QuotaTicket | undefined> {
    return this.admission.admit(call, input, options);
  }

  /** Gives back a ticket's holds for a call that will not be sent. */
  release(ticket: QuotaTicket): void {
    this.admission.release(ticket.holds);
  }

  /**
   * Charges each held quota what Bedrock counts for the settled call (input + cache writes +
   * output × burndown) and releases the rest. A provisioned call that spilled to on-demand was
   * never held: it is charged to the quotas its on-demand model draws on.
   */
  settle(ticket: QuotaTicket | undefined, settlement: Settlement): void {
    const now = quotaNow();
    const r = settlement.record;
    if (ticket !== undefined) {
      for (const h of ticket.holds) {
        try {
          h.hold.governor.settle(h.hold, quotaCharge(r, h.burndown), now);
        } catch (error) {
          // Each quota settles on its own: one store failing must not leave the others held.
          this.reporter.error('quota-settle', 'a quota store failed to settle a call (its hold is released when its lease runs out)', error);
        }
      }
      return;
    }
    if (r.fallback === undefined || r.fallback.reason === 'quota' || !this.active) return;
    const subject = quotaSubject(r.attribution, r.modelId, { ref: parseModelId(r.modelId), baseModelId: r.baseModelId }, settlement.serverAddress);
    for (const g of this.governors) {
      if (!g.quota.matches(subject)) continue;
      const shares = g.quota.shares;
      const team = shares === undefined ? '' : (attributionValue(r.attribution, shares.per) ?? '');
      try {
        g.charge(team, quotaCharge(r, g.quota.burndown ?? outputBurndown(r.baseModelId)), now);
      } catch (error) {
        this.reporter.error('quota-settle', 'a quota store failed to charge a call', error);
      }
    }
  }

  /**
   * An attempt to `modelId` was throttled: a `ThrottlingException` shrinks the believed limit of
   * the quotas it draws on. Never throws: it runs in the call's path, where the caller must get
   * Bedrock's error, not a store's.
   */
  throttled(modelId: string, error: string, baseModelId?: string): void {
    if (error !== 'ThrottlingException' || !this.active) return;
    const subject = modelSubject(modelId, baseModelId);
    const now = quotaNow();
    for (const g of this.governors) {
      if (!g.quota.matchesModel(subject)) continue;
      try {
        g.throttled(now);
      } catch (e) {
        this.reporter.error('quota-throttled', 'a quota could not take a throttle into account (its store failed)', e);
      }
    }
  }

  private counts(name: string): QuotaStatus['counts'] {
    const w = this.counters.waits.get(name);
    const t = this.counters.throttles.get(name);
    let refused = 0;
    for (const r of this.counters.refusals.values()) if (r.quota === name) refused += r.count;
    return { waited: (w?.admitted ?? 0) + (w?.timedOut ?? 0), timedOut: w?.timedOut ?? 0, refused, throttlesAvoided: t?.avoided ?? 0, throttlesSeen: t?.seen ?? 0 };
  }

  /**
   * Shutdown: calls waiting for quota room are refused at once (`QuotaExceededError`,
   * `wait-timeout`), no wait begins after it, and the store gives back what it holds.
   */
  async close(): Promise<void> {
    for (const g of this.governors) g.close();
    await this.store.close?.();
  }

  status(): QuotaStatus[] {
    const now = quotaNow();
    return this.governors.map((g) => {
      const spec = g.spec(now);
      const use = this.store.read(spec, now);
      return {
        quota: g.quota.name,
        windowMs: g.quota.windowMs,
        limit: { tokens: g.quota.limit.tokens, requests: finite(g.quota.limit.requests) },
        believedLimit: { tokens: spec.limit.tokens, requests: finite(spec.limit.requests) },
        inUse: use.inUse,
        waiting: g.waiting,
        teams: use.teams,
        ...(use.leased === undefined ? {} : { leased: use.leased }),
        counts: this.counts(g.quota.name),
      };
    });
  }
}
