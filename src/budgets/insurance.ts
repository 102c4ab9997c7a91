import { UNIT_FIELDS, type UnitLimits } from './amounts.js';
import { MemoryBudgetStore } from './memory-store.js';
import type { ReservationEntry, ReserveResult } from './store.js';

/**
 * The insurance allowance of `onStoreError: 'allow'` (in the spirit of rate-limiter-flexible's
 * `insuranceLimiter`): while the budget store cannot be asked, this process admits calls against
 * a local budget of `fraction` × each limit, per counter and window — never without limit. An
 * insured call's estimate stays counted for the rest of the window (its usage still reaches the
 * store when it settles, as a commit the store buffers). With N processes, a window can go over
 * its limit by at most N × fraction × limit because of outages.
 */
export class InsuranceAllowance {
  private readonly store = new MemoryBudgetStore();
  /** Calls admitted and refused against the allowance, for metrics. */
  admitted = 0;
  refused = 0;

  constructor(readonly fraction: number) {}

  private scaled(limits: UnitLimits): UnitLimits {
    const out: { -readonly [K in keyof UnitLimits]: number } = {};
    for (const f of UNIT_FIELDS) {
      const limit = limits[f];
      if (limit !== undefined) out[f] = Math.floor(limit * this.fraction);
    }
    return out;
  }

  /** Admits the call's estimate on every counter within the allowance (all or none). */
  admit(id: string, entries: readonly ReservationEntry[], now: number): ReserveResult {
    const insured = entries.map((e) => ({ ...e, limits: this.scaled(e.limits) }));
    const result = this.store.reserve({ id, entries: insured, now, leaseMs: 60_000 });
    if (!result.admitted) {
      this.refused++;
      return result;
    }
    this.admitted++;
    // Counted as used at once: the allowance does not come back within the window.
    this.store.commit({ id, entries: insured.map((e) => ({ key: e.key, budget: e.budget, actual: e.amounts, windowEnd: e.windowEnd })), now });
    return result;
  }
}
