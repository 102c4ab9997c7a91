import { asCount } from './json.js';
import type { PartialUsage } from './token-usage.js';

/** InvokeModel response headers that carry what Bedrock bills (absent from the SDK output). */
export const TOKEN_HEADERS = {
  input: 'x-amzn-bedrock-input-token-count',
  output: 'x-amzn-bedrock-output-token-count',
  cacheRead: 'x-amzn-bedrock-cache-read-input-token-count',
  cacheWrite: 'x-amzn-bedrock-cache-write-input-token-count',
} as const;

function header(headers: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  // Node lower-cases header names; other handlers may not.
  const v = headers[name];
  if (v !== undefined) return v;
  for (const key in headers) if (key.toLowerCase() === name) return headers[key];
  return undefined;
}

/** Usage from the `x-amzn-bedrock-*-token-count` headers; `undefined` unless input or output is present. */
export function usageFromHeaders(headers: Readonly<Record<string, string | undefined>> | undefined): PartialUsage | undefined {
  if (headers === undefined) return undefined;
  const inputTokens = asCount(header(headers, TOKEN_HEADERS.input));
  const outputTokens = asCount(header(headers, TOKEN_HEADERS.output));
  if (inputTokens === undefined && outputTokens === undefined) return undefined;
  return {
    inputTokens,
    outputTokens,
    cacheReadInputTokens: asCount(header(headers, TOKEN_HEADERS.cacheRead)),
    cacheWriteInputTokens: asCount(header(headers, TOKEN_HEADERS.cacheWrite)),
  };
}
