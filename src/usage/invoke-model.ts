import { extractorsFor } from './families/index.js';
import { parseJsonObject } from './json.js';
import { usageFromHeaders } from './headers.js';
import { hasAnyCount, type ObservedUsage } from './token-usage.js';

/**
 * InvokeModel usage: the billed-token headers when present (no body parse at all), else the
 * model family's own body fields. `undefined` when neither says anything.
 */
export function usageFromInvokeModel(
  headers: Readonly<Record<string, string | undefined>> | undefined,
  body: Uint8Array | undefined,
  provider: string | undefined,
): ObservedUsage | undefined {
  const fromHeaders = usageFromHeaders(headers);
  if (fromHeaders !== undefined) {
    // The headers do not split cache writes by TTL; only a response that wrote to the cache is parsed for it.
    if ((fromHeaders.cacheWriteInputTokens ?? 0) > 0) {
      const json = parseJsonObject(body);
      if (json !== undefined)
        for (const extractor of extractorsFor(provider)) {
          const oneHour = extractor.body(json)?.cacheWrite1hInputTokens;
          if (oneHour !== undefined) return { usage: { ...fromHeaders, cacheWrite1hInputTokens: oneHour }, source: 'headers' };
        }
    }
    return { usage: fromHeaders, source: 'headers' };
  }
  const json = parseJsonObject(body);
  if (json === undefined) return undefined;
  for (const extractor of extractorsFor(provider)) {
    const usage = extractor.body(json);
    if (hasAnyCount(usage)) return { usage, source: 'body' };
  }
  return undefined;
}
