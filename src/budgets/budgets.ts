import type { Call, Settlement } from '../call.js';
import type { OnceReporter } from '../diagnostics.js';
import type { Pricer } from '../pricing/pricer.js';
import type { Attribution } from '../record.js';
import { BudgetAdmission, type Reservation } from './admission.js';
import type { Amounts } from './amounts.js';
import type { BudgetsResolvedConfig } from './config.js';
import type { BudgetContext } from './context.js';
import { countTokensEstimator } from './count-tokens-estimator.js';
import { BudgetEvents } from './events.js';
import { InsuranceAllowance } from './insurance.js';
import { BudgetCounters, KnownCounters } from './known-counters.js';
import { directStore, MemoryBudgetStore } from './memory-store.js';
import { BudgetSettlement } from './settlement.js';
import type { BudgetStore } from './store.js';
import { BudgetViews, type BudgetCheck, type BudgetStatus } from './views.js';

export interface BudgetsDeps {
  readonly pricer: Pricer;
  readonly reporter: OnceReporter;
  /** Distinct `per` values per rule kept in memory for `status()` and metrics. */
  readonly maxKeysPerRule: number;
  readonly costModelFor: BudgetContext['costModelFor'];
}

/**
 * Budgets and model policies, by phase: {@link BudgetAdmission} before a call is sent,
 * {@link BudgetSettlement} when it settles, {@link BudgetViews} for `status()` and `check()`.
 */
export class Budgets {
  readonly store: BudgetStore;
  readonly counters = new BudgetCounters();
  /** What `onStoreError: 'allow'` admits while the store fails (metrics read its counts). */
  readonly insurance: InsuranceAllowance;
  /** Whether any rule or policy is configured (otherwise admission is skipped entirely). */
  readonly active: boolean;
  private readonly admission: BudgetAdmission;
  private readonly settlement: BudgetSettlement;
  private readonly views: BudgetViews;

  constructor(config: BudgetsResolvedConfig, deps: BudgetsDeps) {
    this.store = config.budgetStore ?? new MemoryBudgetStore();
    this.active = config.rules.length > 0 || config.policies.length > 0;
    const e = config.estimator;
    const context: BudgetContext = {
      rules: config.rules,
      policies: config.policies,
      store: this.store,
      estimator: e === 'heuristic' ? undefined : e === 'count-tokens' ? (config.countTokensClient === undefined ? undefined : countTokensEstimator(config.countTokensClient, deps.reporter)) : e,
      defaultMaxOutputTokens: config.defaultMaxOutputTokens,
      estimatorTimeoutMs: config.estimatorTimeoutMs,
      leaseMs: config.reservationLeaseMs,
      onStoreError: config.onStoreError,
      unpricedModels: config.unpricedModels,
      events: new BudgetEvents(config.onBudgetEvent, deps.reporter),
      counters: this.counters,
      // The built-in store is read live: calls then keep no copy of their counters' states.
      known: new KnownCounters(deps.maxKeysPerRule, directStore(this.store)),
      pricer: deps.pricer,
      reporter: deps.reporter,
      costModelFor: deps.costModelFor,
    };
    this.insurance = new InsuranceAllowance(config.insuranceFraction);
    this.admission = new BudgetAdmission(context, this.insurance);
    this.settlement = new BudgetSettlement(context);
    this.views = new BudgetViews(context);
  }

  admit(call: Call, input: unknown): Reservation | undefined | Promise<Reservation | undefined> {
    return this.admission.admit(call, input);
  }

  settle(reservation: Reservation, settlement: Settlement): void {
    this.settlement.settle(reservation, settlement);
  }

  status(): Promise<BudgetStatus[]> {
    return this.views.status();
  }

  check(attribution: Attribution, modelId: string, baseModelId: string | undefined, estimate?: Partial<Amounts>): Promise<BudgetCheck> {
    return this.views.check(attribution, modelId, baseModelId, estimate);
  }

  knownStatuses(): BudgetStatus[] {
    return this.views.knownStatuses();
  }

  drain(): Promise<void> {
    return this.settlement.drain();
  }
}
