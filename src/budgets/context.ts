import type { Call, CallModel } from '../call.js';
import type { OnceReporter } from '../diagnostics.js';
import type { Pricer } from '../pricing/pricer.js';
import type { CompiledRule } from './budget-rule.js';
import type { InputEstimator } from './estimate.js';
import type { BudgetEvents } from './events.js';
import type { BudgetCounters, KnownCounters } from './known-counters.js';
import type { CompiledPolicy } from './policy.js';
import type { BudgetStore } from './store.js';

/** What the budget phases (admission, settlement, views) share. */
export interface BudgetContext {
  readonly rules: readonly CompiledRule[];
  readonly policies: readonly CompiledPolicy[];
  readonly store: BudgetStore;
  /** `undefined`: the heuristic. */
  readonly estimator: InputEstimator | undefined;
  readonly defaultMaxOutputTokens: number;
  /** How long an asynchronous estimator may take before the heuristic stands in. */
  readonly estimatorTimeoutMs: number;
  readonly leaseMs: number;
  readonly onStoreError: 'allow' | 'deny';
  readonly unpricedModels: 'deny' | 'warn';
  readonly events: BudgetEvents;
  readonly counters: BudgetCounters;
  readonly known: KnownCounters;
  readonly pricer: Pricer;
  readonly reporter: OnceReporter;
  /** The model a call's cost is estimated at (its fallback's, for provisioned models that may spill). */
  readonly costModelFor: (call: Call) => CallModel;
}
