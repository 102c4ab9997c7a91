import { asCount, asObject } from './json.js';
import type { PartialUsage } from './token-usage.js';

/**
 * Usage from Converse `output.usage` or the ConverseStream `metadata.usage` event. Bedrock's
 * `inputTokens` already excludes cache reads and writes (`totalTokens` includes them).
 */
export function usageFromConverse(usage: unknown): PartialUsage | undefined {
  const u = asObject(usage);
  if (u === undefined) return undefined;
  const inputTokens = asCount(u.inputTokens);
  const outputTokens = asCount(u.outputTokens);
  if (inputTokens === undefined && outputTokens === undefined) return undefined;
  return {
    inputTokens,
    outputTokens,
    cacheReadInputTokens: asCount(u.cacheReadInputTokens),
    cacheWriteInputTokens: asCount(u.cacheWriteInputTokens),
    cacheWrite1hInputTokens: oneHourWrites(u.cacheDetails),
  };
}

/** Sums the `cacheDetails` entries written with a one-hour TTL. */
function oneHourWrites(details: unknown): number | undefined {
  if (!Array.isArray(details)) return undefined;
  let total = 0;
  for (const d of details) {
    const o = asObject(d);
    if (o?.ttl === '1h') total += asCount(o.inputTokens) ?? 0;
  }
  return total;
}
