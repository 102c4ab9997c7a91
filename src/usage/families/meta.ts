import { asCount } from '../json.js';
import type { JsonObject } from '../json.js';
import type { PartialUsage } from '../token-usage.js';
import type { FamilyExtractor } from './family.js';

// Llama reports prompt_token_count (first chunk only when streaming) and a cumulative generation_token_count.
function llama(body: JsonObject): PartialUsage | undefined {
  const inputTokens = asCount(body.prompt_token_count);
  const outputTokens = asCount(body.generation_token_count);
  return inputTokens === undefined && outputTokens === undefined ? undefined : { inputTokens, outputTokens };
}

/** Meta Llama. */
export const meta: FamilyExtractor = { family: 'meta', body: llama, streamChunk: llama };
