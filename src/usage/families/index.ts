import { amazon } from './amazon.js';
import { anthropic } from './anthropic.js';
import { cohere } from './cohere.js';
import type { FamilyExtractor } from './family.js';
import { meta } from './meta.js';
import { ai21, deepseek, mistral, openai, qwen } from './openai-style.js';

/** Model-family extractors keyed by provider (the part of a base model id before the first dot). */
export const FAMILY_EXTRACTORS: Readonly<Record<string, FamilyExtractor>> = {
  anthropic,
  amazon,
  meta,
  mistral,
  cohere,
  ai21,
  openai,
  deepseek,
  qwen,
};

/**
 * One extractor per distinct body shape, tried in turn when the provider behind an id is unknown
 * (e.g. an unmapped application inference profile). Their shapes do not overlap.
 */
export const ALL_EXTRACTORS: readonly FamilyExtractor[] = [anthropic, amazon, meta, cohere, openai];

/** The extractors to try for a provider: its own, or all of them when it is unknown. */
export function extractorsFor(provider: string | undefined): readonly FamilyExtractor[] {
  const own = provider === undefined ? undefined : FAMILY_EXTRACTORS[provider];
  return own === undefined ? ALL_EXTRACTORS : [own];
}

export type { FamilyExtractor };
