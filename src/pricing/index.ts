// `bedrock-finops/pricing`: the price catalog, service-tier multipliers and helpers for ids the catalog cannot know.
export type { ModelPriceOverride, ServiceTierName } from './pricer.js';
export { DEFAULT_SERVICE_TIER_MULTIPLIERS } from './pricer.js';
export { resolveApplicationInferenceProfiles } from './application-profiles.js';
export type { InferenceProfileDescription } from './application-profiles.js';
export { priceCatalogInfo } from './catalog-info.js';
export type { PriceCatalogInfo } from './catalog-info.js';
