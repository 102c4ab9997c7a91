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
export type { PricingOptions } from './options.js';
export type { ModelPriceOverride, ServiceTierName } from './pricing/pricer.js';
export { DEFAULT_SERVICE_TIER_MULTIPLIERS } from './pricing/pricer.js';
export { resolveApplicationInferenceProfiles } from './pricing/application-profiles.js';
export type { InferenceProfileDescription } from './pricing/application-profiles.js';
export { priceCatalogInfo } from './pricing/catalog-info.js';
export { FinOpsError } from './errors/finops-error.js';
export { ConfigurationError, isConfigurationError } from './errors/configuration-error.js';
