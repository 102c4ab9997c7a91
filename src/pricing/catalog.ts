import { calcPrice, type ModelPrice } from '@pydantic/genai-prices';
import type { Rate, RateCard } from './rate-card.js';

/** The price catalog bundled as the default: `@pydantic/genai-prices` (MIT), provider `aws`. */
export const CATALOG_NAME = '@pydantic/genai-prices';

function rate(value: ModelPrice[string]): Rate | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  return { base: value.base, tiers: [...value.tiers].sort((a, b) => a.start - b.start).map((t) => ({ start: t.start, price: t.price })) };
}

/**
 * The catalog's rate card for a Bedrock model id or inference profile id at a point in time
 * (the catalog dates some price changes). About 0.1 ms: callers resolve once per id and cache.
 */
export function catalogRateCard(modelId: string, at: Date): RateCard | undefined {
  let result;
  try {
    result = calcPrice({ input_tokens: 0, output_tokens: 0 }, modelId, { providerId: 'aws', timestamp: at });
  } catch {
    return undefined;
  }
  if (result === null) return undefined;
  const p = result.model_price;
  const input = rate(p.input_mtok);
  if (input === undefined) return undefined;
  return {
    input,
    output: rate(p.output_mtok),
    cacheRead: rate(p.cache_read_mtok),
    cacheWrite: rate(p.cache_write_mtok),
    cacheWrite1h: rate(p.cache_write_1h_mtok),
    inputAudio: rate(p.input_audio_mtok),
    outputAudio: rate(p.output_audio_mtok),
    source: 'catalog',
    matched: result.model.id,
  };
}
