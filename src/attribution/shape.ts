/** The shapes attribution data comes in: an object of key → value, or a Map; never throws. */

/**
 * Entries kept of a Map at most: its last ones, as an attribution keeps an object's last keys (a
 * trusted key set after untrusted ones must not be pushed out by them). An attribution keeps 32.
 */
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

/**
 * A Map's last {@link MAX_MAP_ENTRIES} entries as an object (its keys as strings, in the Map's
 * order), then read like an attribution object; `undefined` when it cannot be read. One pass,
 * keeping only the last entries seen (a ring), so a Map of a million entries costs no copy of it.
 */
export function mapEntries(map: Map<unknown, unknown>): Record<string, unknown> | undefined {
  try {
    const ring: [unknown, unknown][] = [];
    let n = 0;
    for (const entry of map) ring[n++ % MAX_MAP_ENTRIES] = entry;
    const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (let i = Math.max(0, n - MAX_MAP_ENTRIES); i < n; i++) {
      const [k, v] = ring[i % MAX_MAP_ENTRIES] as [unknown, unknown];
      out[String(k)] = v;
    }
    return out;
  } catch {
    return undefined;
  }
}
