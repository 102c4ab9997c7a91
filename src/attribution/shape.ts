/** The shapes attribution data comes in: an object of key → value, or a Map; never throws. */

/** Entries read from a Map at most (an attribution keeps 32 keys; a huge Map is not walked whole). */
const MAX_MAP_ENTRIES = 128;

/** Whether `attrs` is an object of key → value: never throws (`Array.isArray` throws on a revoked Proxy). */
export function shapeOf(attrs: unknown): 'object' | 'map' | 'other' | 'unreadable' {
  if (typeof attrs !== 'object' || attrs === null) return 'other';
  try {
    return Array.isArray(attrs) ? 'other' : attrs instanceof Map ? 'map' : 'object';
  } catch {
    return 'unreadable';
  }
}

/** A Map's entries as an object (its keys as strings), then read like an attribution object; `undefined` when it cannot be read. */
export function mapEntries(map: Map<unknown, unknown>): Record<string, unknown> | undefined {
  try {
    const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    let n = 0;
    for (const [k, v] of map) {
      if (++n > MAX_MAP_ENTRIES) break;
      out[String(k)] = v;
    }
    return out;
  } catch {
    return undefined;
  }
}
