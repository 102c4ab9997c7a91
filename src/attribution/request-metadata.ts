import type { Attribution } from '../record.js';

/** Bedrock's limits on `requestMetadata`: at most 16 pairs; keys 1–256 and values 0–256 characters of this set. */
export const REQUEST_METADATA_MAX_PAIRS = 16;
export const REQUEST_METADATA_MAX_LENGTH = 256;
// Bedrock's `\s` is ASCII whitespace: JavaScript's also matches Unicode spaces (U+2028, U+3000,
// U+FEFF...), which an HTTP/1.1 client refuses in the InvokeModel metadata header.
const DISALLOWED = /[^a-zA-Z0-9 \t\n\v\f\r:_@$#=/+,.-]/g;

function clean(text: string): string {
  const cleaned = text.replace(DISALLOWED, '');
  return cleaned.length > REQUEST_METADATA_MAX_LENGTH ? cleaned.slice(0, REQUEST_METADATA_MAX_LENGTH) : cleaned;
}

/**
 * Attribution as Bedrock `requestMetadata` (so invocation logs carry the same tags as the
 * metrics), merged under what the caller already set: the caller's pairs win and keep their
 * places, characters Bedrock rejects are dropped, long values cut, pairs past 16 dropped.
 * Never throws. Returns `undefined` when there is nothing to add.
 */
export function requestMetadataFor(attribution: Attribution, callerSupplied: unknown): Record<string, string> | undefined {
  const caller = typeof callerSupplied === 'object' && callerSupplied !== null ? (callerSupplied as Record<string, unknown>) : undefined;
  const out: Record<string, string> = {};
  let count = 0;
  if (caller !== undefined) {
    for (const [k, v] of Object.entries(caller)) {
      if (typeof v !== 'string' || count >= REQUEST_METADATA_MAX_PAIRS) continue;
      out[k] = v;
      count++;
    }
  }
  let added = false;
  for (const [k, v] of Object.entries(attribution)) {
    if (count >= REQUEST_METADATA_MAX_PAIRS) break;
    const key = clean(k);
    if (key.length === 0 || Object.hasOwn(out, key)) continue;
    out[key] = clean(v);
    count++;
    added = true;
  }
  return added ? out : undefined;
}

/** InvokeModel carries request metadata as a JSON string (sent in the `X-Amzn-Bedrock-Request-Metadata` header). */
export function parseInvokeRequestMetadata(value: unknown): Record<string, unknown> | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
