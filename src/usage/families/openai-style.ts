import { asCount, asObject, pick } from '../json.js';
import type { JsonObject } from '../json.js';
import type { PartialUsage } from '../token-usage.js';
import type { FamilyExtractor } from './family.js';

// OpenAI-style usage counts cached tokens inside prompt_tokens; Bedrock's inputTokens excludes them.
function chatUsage(body: JsonObject): PartialUsage | undefined {
  const u = asObject(body.usage);
  if (u === undefined) return undefined;
  const prompt = asCount(u.prompt_tokens);
  const cached = asCount(pick(u, 'prompt_tokens_details', 'cached_tokens'));
  return {
    inputTokens: prompt === undefined ? undefined : Math.max(0, prompt - (cached ?? 0)),
    outputTokens: asCount(u.completion_tokens),
    cacheReadInputTokens: cached,
  };
}

function make(family: string): FamilyExtractor {
  return { family, body: chatUsage, streamChunk: chatUsage };
}

/** OpenAI gpt-oss (chat completions format). */
export const openai = make('openai');
/** AI21 Jamba (chat completions format). */
export const ai21 = make('ai21');
/** DeepSeek (chat completions format when usage is given; R1's text format has none and relies on headers). */
export const deepseek = make('deepseek');
/** Mistral chat format (Large 2407 and later); the legacy `outputs` format has no usage and relies on headers. */
export const mistral = make('mistral');
/** Qwen (chat completions format). */
export const qwen = make('qwen');
