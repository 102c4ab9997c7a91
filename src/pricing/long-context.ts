import type { Rate, RateCard } from './rate-card.js';

/**
 * Models whose whole request is billed at a long-context rate once its input (cache reads and
 * writes included) passes a threshold. Source: Anthropic's published pricing for Claude Sonnet 4
 * and 4.5 with the 1M-token context window, which Amazon Bedrock bills the same way (Bedrock
 * pricing page, "long context" rows): above 200,000 input tokens, input ×2 ($3 → $6 per million
 * on global), output ×1.5 ($15 → $22.50), cache reads and writes scale with input. The geographic
 * premium of in-region and geo profiles applies on top, as it does to the base rates.
 */
export const LONG_CONTEXT: Readonly<Record<string, { readonly above: number; readonly input: number; readonly output: number }>> = {
  'anthropic.claude-sonnet-4-20250514-v1:0': { above: 200_000, input: 2, output: 1.5 },
  'anthropic.claude-sonnet-4-5-20250929-v1:0': { above: 200_000, input: 2, output: 1.5 },
};

function tiered(rate: Rate | undefined, above: number, factor: number): Rate | undefined {
  // A rate that is already tiered came from the catalog or an override: it knows better.
  if (typeof rate !== 'number') return rate;
  return { base: rate, tiers: [{ start: above, price: rate * factor }] };
}

/** The card with the long-context tier added, for the models that have one. */
export function withLongContext(card: RateCard, baseModelId: string | undefined): RateCard {
  const lc = baseModelId === undefined ? undefined : LONG_CONTEXT[baseModelId];
  if (lc === undefined || card.source === 'override') return card;
  return {
    ...card,
    input: tiered(card.input, lc.above, lc.input) ?? card.input,
    output: tiered(card.output, lc.above, lc.output),
    cacheRead: tiered(card.cacheRead, lc.above, lc.input),
    cacheWrite: tiered(card.cacheWrite, lc.above, lc.input),
    cacheWrite1h: tiered(card.cacheWrite1h, lc.above, lc.input),
  };
}
