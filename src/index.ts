// The application surface: the plugin, attribution, errors and the types an application names.
// Stores, ledgers, the report, pricing helpers and the simulator live under subpath exports
// (`bedrock-finops/budgets`, `/redis`, `/quotas`, `/ledger`, `/report`, `/pricing`, `/models`, `/testing`).
export { bedrockFinOps } from './plugin.js';
export type { BedrockFinOps, BudgetHandles } from './plugin.js';
export type { FetchMeteringOptions, RequestSigner } from './fetch/options.js';
export type { BedrockFinOpsOptions, ProvisionedModelConfig } from './config.js';
export type { Attribution, BedrockOperation, FallbackInfo, UsageRecord, UsageSource } from './record.js';
export { withAttribution, attribute } from './attribution/scope.js';
export { FINOPS_MIDDLEWARE } from './middleware.js';
export { FINOPS_ATTEMPT_MIDDLEWARE } from './fallback/fallback-signal.js';
export { reshapeMiddlewareStack } from './reshape-stack.js';
export { FinOpsError } from './errors/finops-error.js';
export { BudgetExceededError, isBudgetExceededError } from './errors/budget-exceeded-error.js';
export type { BudgetExceededDetails } from './errors/budget-exceeded-error.js';
export { QuotaExceededError, isQuotaExceededError } from './errors/quota-exceeded-error.js';
export { ModelNotAllowedError, isModelNotAllowedError } from './errors/model-not-allowed-error.js';
export { BudgetStoreUnavailableError, isBudgetStoreUnavailableError } from './errors/budget-store-unavailable-error.js';
export { UnpricedModelError, isUnpricedModelError } from './errors/unpriced-model-error.js';
export { ConfigurationError, isConfigurationError } from './errors/configuration-error.js';
export type { BudgetRule } from './budgets/budget-rule.js';
export type { ModelPolicy } from './budgets/policy.js';
export type { BudgetEvent } from './budgets/events.js';
export type { BudgetStatus, BudgetCheck } from './budgets/views.js';
