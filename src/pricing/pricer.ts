import type { ModelRef } from '../model/model-id.js';
import type { OnceReporter } from '../diagnostics.js';
import { catalogRateCard } from './catalog.js';
import { costOf, type PricedUsage, type RateCard } from './rate-card.js';
import { LATENCY_OPTIMIZED } from './latency-optimized.js';
import { withLongContext } from './long-context.js';
import { supplementRateCard } from './supplement.js';

/** A user price for one model, USD per million tokens. */
export interface ModelPriceOverride {
  readonly input: number;
  readonly output?: number;
  readonly cacheRead?: number;
  readonly cacheWrite?: number;
  readonly cacheWrite1h?: number;
}

/** Bedrock service tiers and the multiplier each applies to the standard on-demand price. */
export type ServiceTierName = 'default' | 'priority' | 'flex' | 'reserved';

/**
 * Default multipliers, from Amazon Bedrock's service tier pricing: Priority is billed at a 75%
 * premium and Flex at a 50% discount over the standard (default) on-demand price. Reserved
 * capacity is a commitment billed outside per-token prices; it is priced at the standard rate
 * here unless configured. Check the pricing page for your model and override as needed.
 */
export const DEFAULT_SERVICE_TIER_MULTIPLIERS: Readonly<Record<ServiceTierName, number>> = {
  default: 1,
  priority: 1.75,
  flex: 0.5,
  reserved: 1,
};

export interface PricerOptions {
  readonly overrides: ReadonlyMap<string, ModelPriceOverride>;
  /** Fraction off every price (enterprise discount), 0 ≤ discount < 1. */
  readonly discount: number;
  readonly serviceTiers: Readonly<Record<string, number>>;
  readonly reporter: OnceReporter;
}

/** What a call costs: its own price, and for provisioned calls what it would have cost on demand. */
export interface CallCost {
  readonly costUsd: number | undefined;
  readonly onDemandEquivalentUsd: number | undefined;
}

const UNKNOWN: CallCost = { costUsd: undefined, onDemandEquivalentUsd: undefined };

function overrideCard(o: ModelPriceOverride, matched: string): RateCard {
  return {
    input: o.input,
    output: o.output,
    cacheRead: o.cacheRead,
    cacheWrite: o.cacheWrite,
    cacheWrite1h: o.cacheWrite1h,
    source: 'override',
    matched,
  };
}

/** A service tier's multiplier: own properties only (a response may name any tier, `constructor` too); unknown tiers ×1. */
function tierMultiplier(tiers: Readonly<Record<string, number>>, tier: string | undefined): number {
  if (tier === undefined || !Object.hasOwn(tiers, tier)) return 1;
  const m = tiers[tier];
  return typeof m === 'number' && Number.isFinite(m) && m >= 0 ? m : 1;
}

/**
 * Prices calls. Rate cards are resolved once per model id (user override, then the supplement,
 * then the catalog) by {@link Pricer.rateCard}, which the model resolver caches; {@link Pricer.price}
 * is arithmetic.
 */
export class Pricer {
  private readonly factor: number;

  constructor(private readonly options: PricerOptions) {
    this.factor = 1 - options.discount;
  }

  /** The rate card for the id a model is priced as (resolved once per id by the caller). */
  rateCard(pricedAs: string, target: ModelRef, at: Date): RateCard | undefined {
    const { overrides } = this.options;
    const override = overrides.get(pricedAs) ?? overrides.get(target.id) ?? (target.baseModelId === undefined ? undefined : overrides.get(target.baseModelId));
    if (override !== undefined) return overrideCard(override, pricedAs);
    const card = supplementRateCard(target.baseModelId) ?? catalogRateCard(pricedAs, at);
    if (card === undefined) return undefined;
    const base = target.baseModelId;
    const optimized = base === undefined ? undefined : LATENCY_OPTIMIZED[base];
    return withLongContext(optimized === undefined ? card : { ...card, latencyOptimized: optimized }, base);
  }

  /**
   * Prices one call's usage. `card` is what {@link rateCard} returned for its model; `serviceTier`
   * multiplies the price; `latency: 'optimized'` uses the model's latency-optimized rates.
   */
  price(card: RateCard | undefined, pricedAs: string, provisioned: boolean, usage: PricedUsage, serviceTier: string | undefined, latency?: string): CallCost {
    if (card !== undefined && latency === 'optimized' && card.latencyOptimized !== undefined) card = { ...card, ...card.latencyOptimized };
    if (card === undefined) {
      this.options.reporter.warn(`price:${pricedAs}`, `no price known for "${pricedAs.slice(0, 200)}": costUsd is undefined (add it with pricing.overrides or map the id with the models option)`);
      return UNKNOWN;
    }
    const tier = tierMultiplier(this.options.serviceTiers, serviceTier);
    const usd = costOf(card, usage) * tier * this.factor;
    // Provisioned throughput is billed by the hour: a call's marginal cost is zero.
    return provisioned ? { costUsd: 0, onDemandEquivalentUsd: usd } : { costUsd: usd, onDemandEquivalentUsd: undefined };
  }
}
