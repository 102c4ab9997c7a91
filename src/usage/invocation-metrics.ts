import { asCount, asObject, type JsonObject } from './json.js';
import type { PartialUsage } from './token-usage.js';

/** The key Bedrock adds to the final chunk of an InvokeModelWithResponseStream. */
export const INVOCATION_METRICS_KEY = 'amazon-bedrock-invocationMetrics';

/** Usage from a stream chunk's `amazon-bedrock-invocationMetrics` (what Bedrock bills), if the chunk has it. */
export function usageFromInvocationMetrics(chunk: JsonObject | undefined): PartialUsage | undefined {
  const m = asObject(chunk?.[INVOCATION_METRICS_KEY]);
  if (m === undefined) return undefined;
  const inputTokens = asCount(m.inputTokenCount);
  const outputTokens = asCount(m.outputTokenCount);
  if (inputTokens === undefined && outputTokens === undefined) return undefined;
  return {
    inputTokens,
    outputTokens,
    cacheReadInputTokens: asCount(m.cacheReadInputTokenCount),
    cacheWriteInputTokens: asCount(m.cacheWriteInputTokenCount),
  };
}
