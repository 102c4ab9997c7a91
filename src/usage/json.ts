/** Narrow readers for untrusted JSON from the network: they never throw and never trust a shape. */

export type JsonObject = Readonly<Record<string, unknown>>;

const decoder = new TextDecoder();

/** The value as a plain object, or `undefined`. */
export function asObject(value: unknown): JsonObject | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
}

/** A token count: a finite, non-negative number (rounded down), else `undefined`. */
export function asCount(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined;
  if (typeof value === 'string' && value.length > 0 && value.length < 16) {
    const n = Number(value);
    return Number.isFinite(n) && n >= 0 ? Math.floor(n) : undefined;
  }
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
