import { asCount, asObject, pick } from '../json.js';
import type { JsonObject } from '../json.js';
import type { PartialUsage } from '../token-usage.js';
import type { FamilyExtractor } from './family.js';

function novaUsage(usage: unknown): PartialUsage | undefined {
  const u = asObject(usage);
  if (u === undefined) return undefined;
  return {
    inputTokens: asCount(u.inputTokens),
    outputTokens: asCount(u.outputTokens),
    cacheReadInputTokens: asCount(u.cacheReadInputTokenCount),
    cacheWriteInputTokens: asCount(u.cacheWriteInputTokenCount),
  };
}

function titanBody(body: JsonObject): PartialUsage | undefined {
  const inputTokens = asCount(body.inputTextTokenCount);
  if (inputTokens === undefined) return undefined;
  // Text generation lists results with their token counts; embeddings have no output.
  let outputTokens = 0;
  if (Array.isArray(body.results)) {
    for (const r of body.results) outputTokens += asCount(pick(r, 'tokenCount')) ?? 0;
  }
  return { inputTokens, outputTokens };
}

/** Amazon Nova (messages-v1), Titan Text and Titan Embeddings: their shapes do not overlap. */
export const amazon: FamilyExtractor = {
  family: 'amazon',
  body: (body) => novaUsage(body.usage) ?? titanBody(body),
  streamChunk: (chunk) => {
    const nova = novaUsage(pick(chunk, 'metadata', 'usage'));
    if (nova !== undefined) return nova;
    const inputTokens = asCount(chunk.inputTextTokenCount);
    const outputTokens = asCount(chunk.totalOutputTextTokenCount);
    return inputTokens === undefined && outputTokens === undefined ? undefined : { inputTokens, outputTokens };
  },
};
