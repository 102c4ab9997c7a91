import { ATTRIBUTION_OPTION_KEYS, resolveAttributionConfig, type AttributionInputConfig, type AttributionResolvedConfig } from './attribution/config.js';
import { BUDGETS_OPTION_KEYS, resolveBudgetsConfig, type BudgetsInputConfig, type BudgetsResolvedConfig } from './budgets/config.js';
import { ConfigurationError } from './errors/configuration-error.js';
import { FALLBACK_OPTION_KEYS, resolveFallbackConfig, type FallbackInputConfig, type FallbackResolvedConfig } from './fallback/config.js';
import { LEDGER_OPTION_KEYS, resolveLedgerConfig, type LedgerInputConfig, type LedgerResolvedConfig } from './ledger/config.js';
import { METRICS_OPTION_KEYS, resolveMetricsConfig, type MetricsInputConfig, type MetricsResolvedConfig } from './metrics/config.js';
import { QUOTAS_OPTION_KEYS, resolveQuotasConfig, type QuotasInputConfig, type QuotasResolvedConfig } from './quotas/config.js';
import { PRICING_OPTION_KEYS, resolvePricingConfig, type PricingInputConfig, type PricingResolvedConfig } from './pricing/config.js';
import { resolveUsageConfig, USAGE_OPTION_KEYS, type UsageInputConfig, type UsageResolvedConfig } from './usage/config.js';
import { assertKnownKeys } from './validate.js';

export type { ProvisionedModelConfig, FallbackOptions } from './fallback/config.js';
export type { PricingOptions } from './pricing/config.js';

/** Options of `bedrockFinOps`: each feature's own, intersected. Everything is optional. */
export interface BedrockFinOpsOptions extends AttributionInputConfig, MetricsInputConfig, PricingInputConfig, BudgetsInputConfig, FallbackInputConfig, LedgerInputConfig, UsageInputConfig, QuotasInputConfig {}

/** Options after validation, each feature's resolved config. */
export type ResolvedConfig = AttributionResolvedConfig & MetricsResolvedConfig & PricingResolvedConfig & BudgetsResolvedConfig & FallbackResolvedConfig & LedgerResolvedConfig & UsageResolvedConfig & QuotasResolvedConfig;

const OPTION_KEYS: readonly string[] = [
  ...ATTRIBUTION_OPTION_KEYS,
  ...METRICS_OPTION_KEYS,
  ...PRICING_OPTION_KEYS,
  ...BUDGETS_OPTION_KEYS,
  ...FALLBACK_OPTION_KEYS,
  ...LEDGER_OPTION_KEYS,
  ...USAGE_OPTION_KEYS,
  ...QUOTAS_OPTION_KEYS,
];

/** Validates options; throws a {@link ConfigurationError} naming the field at fault (an unknown key names the closest known one). */
export function resolveConfig(options: BedrockFinOpsOptions | undefined): ResolvedConfig {
  const o: BedrockFinOpsOptions = options ?? {};
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new ConfigurationError('options', 'must be an object');
  assertKnownKeys(o as Record<string, unknown>, OPTION_KEYS, '');
  return {
    ...resolveAttributionConfig(o),
    ...resolveMetricsConfig(o),
    ...resolvePricingConfig(o),
    ...resolveBudgetsConfig(o),
    ...resolveFallbackConfig(o),
    ...resolveLedgerConfig(o),
    ...resolveUsageConfig(o),
    ...resolveQuotasConfig(o),
  };
}
