import { ConfigurationError } from '../errors/configuration-error.js';
import { assertKnownKeys, assertModelId, assertObject, nonNegative } from '../validate.js';
import { DEFAULT_SERVICE_TIER_MULTIPLIERS, type ModelPriceOverride, type ServiceTierName } from './pricer.js';

/** How calls are priced. */
export interface PricingOptions {
  /**
   * Your own prices, USD per million tokens, keyed by model id, inference profile id or ARN
   * (or the base model id). They win over the bundled catalog.
   * @defaultValue `{}`
   */
  readonly overrides?: Readonly<Record<string, ModelPriceOverride>>;
  /**
   * A fraction taken off every price (an enterprise discount), e.g. `0.12` for 12% off.
   * @defaultValue `0`
   */
  readonly discount?: number;
  /**
   * Multipliers per service tier the response reports.
   * @defaultValue `{ default: 1, priority: 1.75, flex: 0.5, reserved: 1 }`
   */
  readonly serviceTiers?: Readonly<Partial<Record<ServiceTierName, number>>>;
}

/** Pricing options of `bedrockFinOps`. */
export interface PricingInputConfig {
  /** Price overrides, discount and service-tier multipliers. */
  readonly pricing?: PricingOptions;
  /**
   * Maps a model id or ARN (application inference profile, custom or imported model) to the
   * model id to treat it as for pricing and usage extraction.
   * @defaultValue `{}`
   */
  readonly models?: Readonly<Record<string, string>>;
}

export interface PricingResolvedConfig {
  readonly priceOverrides: ReadonlyMap<string, ModelPriceOverride>;
  readonly discount: number;
  readonly serviceTiers: Readonly<Record<string, number>>;
  /** Id/ARN → model to price and extract as (the `models` option). */
  readonly models: ReadonlyMap<string, string>;
}

export const PRICING_OPTION_KEYS = ['pricing', 'models'] as const;
const PRICING_KEYS = ['overrides', 'discount', 'serviceTiers'];
const OVERRIDE_KEYS = ['input', 'output', 'cacheRead', 'cacheWrite', 'cacheWrite1h'] as const;

function resolveOverrides(overrides: unknown): Map<string, ModelPriceOverride> {
  const out = new Map<string, ModelPriceOverride>();
  if (overrides === undefined) return out;
  assertObject(overrides, 'pricing.overrides');
  for (const id of Object.keys(overrides)) {
    const price = overrides[id];
    const field = `pricing.overrides["${id}"]`;
    assertObject(price, field);
    assertKnownKeys(price, OVERRIDE_KEYS, field);
    nonNegative(price.input, `${field}.input`);
    for (const k of OVERRIDE_KEYS) if (price[k] !== undefined) nonNegative(price[k], `${field}.${k}`);
    out.set(id, price as unknown as ModelPriceOverride);
  }
  return out;
}

export function resolvePricingConfig(o: PricingInputConfig): PricingResolvedConfig {
  const models = new Map<string, string>();
  if (o.models !== undefined) {
    assertObject(o.models, 'models');
    for (const id of Object.keys(o.models)) {
      const target = o.models[id];
      assertModelId(target, `models["${id}"]`);
      models.set(id, target);
    }
  }
  const p = o.pricing;
  if (p === undefined) return { priceOverrides: new Map(), discount: 0, serviceTiers: DEFAULT_SERVICE_TIER_MULTIPLIERS, models };
  assertObject(p, 'pricing');
  assertKnownKeys(p, PRICING_KEYS, 'pricing');
  const discount = p.discount === undefined ? 0 : nonNegative(p.discount, 'pricing.discount');
  if (discount >= 1) throw new ConfigurationError('pricing.discount', 'must be below 1 (it is the fraction taken off, e.g. 0.12)');
  const serviceTiers: Record<string, number> = { ...DEFAULT_SERVICE_TIER_MULTIPLIERS };
  if (p.serviceTiers !== undefined) {
    assertObject(p.serviceTiers, 'pricing.serviceTiers');
    for (const tier of Object.keys(p.serviceTiers)) serviceTiers[tier] = nonNegative(p.serviceTiers[tier], `pricing.serviceTiers.${tier}`);
  }
  return { priceOverrides: resolveOverrides(p.overrides), discount, serviceTiers, models };
}
