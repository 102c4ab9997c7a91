import type { RateCard } from './rate-card.js';

/**
 * On-demand prices (USD per million tokens, us-east-1) for Bedrock models the bundled catalog
 * lacks or matches too loosely (it prices Titan Text Embeddings V2 as V1). Source: the Amazon
 * Bedrock pricing page (aws.amazon.com/bedrock/pricing). Keyed by base model id; checked before
 * the catalog, after user overrides.
 */
const SUPPLEMENT: Readonly<Record<string, readonly [input: number, output: number | undefined]>> = {
  'amazon.titan-embed-text-v2:0': [0.02, undefined],
  'cohere.command-r-v1:0': [0.5, 1.5],
  'cohere.command-r-plus-v1:0': [3, 15],
  'cohere.embed-english-v3': [0.1, undefined],
  'cohere.embed-multilingual-v3': [0.1, undefined],
  'ai21.jamba-1-5-large-v1:0': [2, 8],
  'ai21.jamba-1-5-mini-v1:0': [0.2, 0.4],
  'mistral.mistral-large-2407-v1:0': [2, 6],
};

/** The supplement's rate card for a base model id, if it has one. */
export function supplementRateCard(baseModelId: string | undefined): RateCard | undefined {
  if (baseModelId === undefined) return undefined;
  const entry = SUPPLEMENT[baseModelId];
  if (entry === undefined) return undefined;
  return { input: entry[0], output: entry[1], cacheRead: undefined, cacheWrite: undefined, cacheWrite1h: undefined, source: 'supplement', matched: baseModelId };
}
