export { bedrockFinOps } from './plugin.js';
export type { BedrockFinOps } from './plugin.js';
export type { BedrockFinOpsOptions, ProvisionedModelConfig } from './options.js';
export type {
  Attribution,
  BedrockOperation,
  FallbackInfo,
  TokenUsage,
  UsageRecord,
  UsageSource,
} from './record.js';
export { withAttribution, attribute } from './call/attribution.js';
export { parseModelId, INFERENCE_PROFILE_GEOGRAPHIES } from './call/model-id.js';
export type { ModelKind, ModelRef } from './call/model-id.js';
export { FINOPS_MIDDLEWARE } from './middleware.js';
export { FINOPS_ATTEMPT_MIDDLEWARE } from './fallback/fallback-signal.js';
export type { FallbackOptions } from './options.js';
export type { PricingOptions } from './options.js';
export type { ModelPriceOverride, ServiceTierName } from './pricing/pricer.js';
export { DEFAULT_SERVICE_TIER_MULTIPLIERS } from './pricing/pricer.js';
export { resolveApplicationInferenceProfiles } from './pricing/application-profiles.js';
export type { InferenceProfileDescription } from './pricing/application-profiles.js';
export { priceCatalogInfo } from './pricing/catalog-info.js';
export type { PriceCatalogInfo } from './pricing/catalog-info.js';
export type { UsageLedger } from './ledger/ledger.js';
export { jsonlLedger } from './ledger/jsonl-ledger.js';
export type { JsonlLedgerOptions } from './ledger/jsonl-ledger.js';
export { sqliteLedger } from './ledger/sqlite-ledger.js';
export type { SqliteLedgerOptions } from './ledger/sqlite-ledger.js';
export { readLedger } from './ledger/read-ledger.js';
export { analyze } from './report/analyze.js';
export type { Report, ReportOptions, ReportProvisioned, BreakdownRow } from './report/analyze.js';
export { renderText } from './report/render-text.js';
export { renderHtml } from './report/render-html.js';
export { FinOpsError } from './errors/finops-error.js';
export { BudgetExceededError, isBudgetExceededError } from './errors/budget-exceeded-error.js';
export type { BudgetExceededDetails } from './errors/budget-exceeded-error.js';
export { ModelNotAllowedError, isModelNotAllowedError } from './errors/model-not-allowed-error.js';
export type { BudgetHandles } from './plugin.js';
export type { BudgetRule, CallMatch } from './budgets/rule.js';
export type { ModelPolicy } from './budgets/policy.js';
export type { BudgetWindow } from './budgets/window.js';
export type { Amounts, LimitType, Limits } from './budgets/amounts.js';
export type { BudgetEvent, BudgetStatus, BudgetCheck } from './budgets/budget-manager.js';
export type { BudgetStore, ReserveRequest, ReserveResult, ReservationEntry, CommitRequest, CommitEntry, CommitResult, CounterState } from './budgets/store.js';
export { MemoryBudgetStore } from './budgets/memory-store.js';
export { RedisBudgetStore, BudgetStoreUnavailableError } from './budgets/redis/redis-budget-store.js';
export type { RedisBudgetStoreOptions, RedisBudgetStoreStats } from './budgets/redis/redis-budget-store.js';
export type { RedisClientLike, IoRedisLike, NodeRedisLike } from './budgets/redis/redis-client.js';
export type { EstimateRequest, InputEstimator } from './budgets/estimate.js';
export { heuristicInputTokens } from './budgets/estimate.js';
export type { CountTokensClient } from './budgets/count-tokens-estimator.js';
export { ConfigurationError, isConfigurationError } from './errors/configuration-error.js';
