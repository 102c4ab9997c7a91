import { asCount, asObject, pick } from '../json.js';
import type { JsonObject } from '../json.js';
import type { PartialUsage } from '../token-usage.js';
import type { FamilyExtractor } from './family.js';

// Cohere reports `meta.billed_units` (what is billed) and `meta.tokens` (which also counts
// non-billed tokens such as the system preamble); billed units win.
function meta(m: unknown): PartialUsage | undefined {
  const source = asObject(pick(m, 'billed_units')) ?? asObject(pick(m, 'tokens'));
  if (source === undefined) return undefined;
  const inputTokens = asCount(source.input_tokens);
  // Embed reports no output units: an embedding has no output tokens.
  const outputTokens = asCount(source.output_tokens) ?? (inputTokens === undefined ? undefined : 0);
  return inputTokens === undefined && outputTokens === undefined ? undefined : { inputTokens, outputTokens };
}

function body(b: JsonObject): PartialUsage | undefined {
  // Command R / Embed: top-level meta; streamed `stream-end` and legacy Command: under `response`.
  return meta(b.meta) ?? meta(pick(b, 'response', 'meta'));
}

/** Cohere Command, Command R / R+ and Embed. */
export const cohere: FamilyExtractor = { family: 'cohere', body, streamChunk: body };
