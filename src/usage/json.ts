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

/** Reads `obj.a.b.c` through objects only. */
export function pick(value: unknown, ...path: readonly string[]): unknown {
  let current: unknown = value;
  for (const key of path) {
    const o = asObject(current);
    if (o === undefined) return undefined;
    current = o[key];
  }
  return current;
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
