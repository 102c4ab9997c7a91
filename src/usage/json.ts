/** Narrow readers for untrusted JSON from the network: they never throw and never trust a shape. */

export type JsonObject = Readonly<Record<string, unknown>>;

const decoder = new TextDecoder();

/** The value as a plain object, or `undefined`. */
export function asObject(value: unknown): JsonObject | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
}

// A count written as text (a header value): decimal digits only, at most 15 (below 2^53). `Number()` would also read
// `0x10`, `0b11`, `1e3`, ` 12 `, `+12` or `12.5`, none of which Bedrock writes.
const DECIMAL_COUNT = /^[0-9]{1,15}$/;

/**
 * A token count: a finite, non-negative number (rounded down), or a string of decimal digits
 * (1-15 of them, nothing else: no sign, space, fraction, exponent or radix prefix); else `undefined`.
 */
export function asCount(value: unknown): number | undefined {
  // `+ 0` turns -0 into 0.
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.floor(value) + 0 : undefined;
  if (typeof value === 'string' && DECIMAL_COUNT.test(value)) return Number(value);
  return undefined;
}

/** Reads `obj.a.b.c.d` through objects only (fixed arity: no array per call, it runs per stream event). */
export function pick(value: unknown, a: string, b?: string, c?: string, d?: string): unknown {
  const v = asObject(value)?.[a];
  if (b === undefined) return v;
  const w = asObject(v)?.[b];
  if (c === undefined) return w;
  const x = asObject(w)?.[c];
  return d === undefined ? x : asObject(x)?.[d];
}

/** Parses JSON bytes or text into an object; `undefined` for anything that is not a JSON object. */
export function parseJsonObject(data: Uint8Array | string | undefined): JsonObject | undefined {
  if (data === undefined) return undefined;
  try {
    const text = typeof data === 'string' ? data : decoder.decode(data);
    return asObject(JSON.parse(text));
  } catch {
    return undefined;
  }
}
