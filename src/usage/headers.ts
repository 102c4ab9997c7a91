import { asCount } from './json.js';
import type { PartialUsage } from './token-usage.js';

/** InvokeModel response headers that carry what Bedrock bills (absent from the SDK output). */
export const TOKEN_HEADERS = {
  input: 'x-amzn-bedrock-input-token-count',
  output: 'x-amzn-bedrock-output-token-count',
  cacheRead: 'x-amzn-bedrock-cache-read-input-token-count',
  cacheWrite: 'x-amzn-bedrock-cache-write-input-token-count',
} as const;

type Headers = Readonly<Record<string, string | undefined>>;

/** The token headers found by a case-insensitive pass over `headers` (one pass for all four). */
function scanned(headers: Headers): Partial<Record<string, string>> {
  const found: Partial<Record<string, string>> = {};
  for (const key in headers) {
    const lower = key.toLowerCase();
    if (lower.startsWith('x-amzn-bedrock-') && found[lower] === undefined) found[lower] = headers[key];
  }
  return found;
}

/**
 * Usage from the `x-amzn-bedrock-*-token-count` headers; `undefined` unless input or output is
 * present. Node (and fetch) lower-case header names, so names are looked up as such; a handler
 * that keeps other spellings is read in one case-insensitive pass, made only when the input or
 * the output count is not under its lower-case name (Bedrock sends both on every response; the
 * cache counts are absent from most: looking them up must not walk every header, twice, per call).
 */
export function usageFromHeaders(headers: Headers | undefined): PartialUsage | undefined {
  if (headers === undefined) return undefined;
  let input = headers[TOKEN_HEADERS.input];
  let output = headers[TOKEN_HEADERS.output];
  let cacheRead = headers[TOKEN_HEADERS.cacheRead];
  let cacheWrite = headers[TOKEN_HEADERS.cacheWrite];
  if (input === undefined || output === undefined) {
    const found = scanned(headers);
    input ??= found[TOKEN_HEADERS.input];
    output ??= found[TOKEN_HEADERS.output];
    cacheRead ??= found[TOKEN_HEADERS.cacheRead];
    cacheWrite ??= found[TOKEN_HEADERS.cacheWrite];
  }
  const inputTokens = asCount(input);
  const outputTokens = asCount(output);
  if (inputTokens === undefined && outputTokens === undefined) return undefined;
  return {
    inputTokens,
    outputTokens,
    cacheReadInputTokens: asCount(cacheRead),
    cacheWriteInputTokens: asCount(cacheWrite),
  };
}
