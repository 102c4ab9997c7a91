/** Longest attribution key. */
export const MAX_ATTRIBUTION_KEY_LENGTH = 64;
/** Key prefixes that belong to OpenTelemetry semantic conventions and cannot be attribution keys. */
export const RESERVED_KEY_PREFIXES: readonly string[] = ['gen_ai.', 'server.', 'error.', 'aws.', 'bedrock_finops.', 'otel.', 'telemetry.', 'service.'];

/** The canonical form of an attribution key: lower-case snake_case, dots allowed. */
export const CANONICAL_KEY = /^[a-z][a-z0-9_.]*$/;

/** A key as normalised: the canonical key, or why there is none. */
export type NormalizedKey = { readonly key: string; readonly problem?: undefined } | { readonly key?: undefined; readonly problem: string };

const cache = new Map<string, NormalizedKey>();
const MAX_CACHED = 4096;

function compute(raw: string): NormalizedKey {
  // camelCase and PascalCase boundaries become "_", acronyms stay whole (HTTPServer → http_server).
  const snake = raw
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (snake.length === 0) return { problem: 'is empty once normalised' };
  if (snake.length > MAX_ATTRIBUTION_KEY_LENGTH) return { problem: `is longer than ${MAX_ATTRIBUTION_KEY_LENGTH} characters` };
  if (!CANONICAL_KEY.test(snake)) return { problem: 'must start with a letter' };
  const reserved = RESERVED_KEY_PREFIXES.find((p) => snake.startsWith(p));
  if (reserved !== undefined) return { problem: `is in the reserved namespace "${reserved}"` };
  return { key: snake };
}

/**
 * Normalises an attribution key, one documented way: camelCase, PascalCase, kebab-case, spaces
 * and capitals become lower-case snake_case (`tenantId` → `tenant_id`, `cost-center` →
 * `cost_center`, `Team` → `team`). Keys that stay invalid (empty, longer than 64 characters, not
 * starting with a letter, or in a reserved OpenTelemetry namespace) come back with a problem.
 * Never throws; results are cached (bounded), since a process sees few distinct keys.
 */
export function normalizeKey(raw: string): NormalizedKey {
  const hit = cache.get(raw);
  if (hit !== undefined) return hit;
  const result = raw.length > 4 * MAX_ATTRIBUTION_KEY_LENGTH ? { problem: `is longer than ${MAX_ATTRIBUTION_KEY_LENGTH} characters` } : compute(raw);
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(raw, result);
  return result;
}
