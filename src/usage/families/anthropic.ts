import { asCount, asObject, pick } from '../json.js';
import type { PartialUsage } from '../token-usage.js';
import type { FamilyExtractor } from './family.js';

// Anthropic's input_tokens already excludes cache reads and writes, as Bedrock's does.
function fromUsage(usage: unknown, withOutput: boolean): PartialUsage | undefined {
  const u = asObject(usage);
  if (u === undefined) return undefined;
  return {
    inputTokens: asCount(u.input_tokens),
    outputTokens: withOutput ? asCount(u.output_tokens) : undefined,
    cacheReadInputTokens: asCount(u.cache_read_input_tokens),
    cacheWriteInputTokens: asCount(u.cache_creation_input_tokens),
    cacheWrite1hInputTokens: asCount(pick(u, 'cache_creation', 'ephemeral_1h_input_tokens')),
  };
}

/** Anthropic Claude (Messages API; legacy text completions carry no usage and rely on headers). */
export const anthropic: FamilyExtractor = {
  family: 'anthropic',
  body: (body) => fromUsage(body.usage, true),
  streamChunk: (chunk) => {
    switch (chunk.type) {
      // message_start carries the input side; its output_tokens is a placeholder, not the count.
      case 'message_start':
        return fromUsage(pick(chunk, 'message', 'usage'), false);
      // message_delta carries the cumulative output count.
      case 'message_delta':
        return fromUsage(chunk.usage, true);
      default:
        return undefined;
    }
  },
};
