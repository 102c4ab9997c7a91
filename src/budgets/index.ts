// `bedrock-finops/budgets`: the extension points of budgets — the store interface and the
// in-memory reference store, the input estimators, and the types budget rules are built from.
export type {
  BudgetStore,
  BudgetStoreCloseReport,
  BudgetStoreObserver,
  BudgetStoreStats,
  ReserveRequest,
  ReserveResult,
  ReservationEntry,
  CommitRequest,
  CommitEntry,
  CommitResult,
  CounterState,
  CounterRef,
  UndeliveredUsage,
} from './store.js';
export { MemoryBudgetStore } from './memory-store.js';
export type { Amounts, LimitType, Limits, Units, UnitLimits, UnitField } from './amounts.js';
export type { BudgetWindow } from './window.js';
export type { CallMatch } from './rule.js';
export type { EstimateRequest, InputEstimator } from './estimate.js';
export { heuristicInputTokens } from './estimate.js';
export type { CountTokensClient } from './count-tokens-estimator.js';
