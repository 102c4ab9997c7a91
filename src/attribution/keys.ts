/** Longest attribution key. */
export const MAX_ATTRIBUTION_KEY_LENGTH = 64;
/** Key prefixes that belong to OpenTelemetry semantic conventions and cannot be attribution keys. */
export const RESERVED_KEY_PREFIXES: readonly string[] = ['gen_ai.', 'server.', 'error.', 'aws.', 'bedrock_finops.', 'otel.', 'telemetry.', 'service.'];

/**
 * Label-name prefixes a key cannot take once exported to Prometheus (see {@link labelName}): the
 * underscore forms of {@link RESERVED_KEY_PREFIXES} (`gen_ai_request_model`, `server_port`,
 * `bedrock_finops_outcome` are labels this library sets, `otel_scope_name` one the exporter adds),
 * and `__`, which Prometheus keeps for itself.
 */
export const RESERVED_LABEL_PREFIXES: readonly string[] = [...RESERVED_KEY_PREFIXES.map((p) => p.replaceAll('.', '_')), '__'];
/** Label names Prometheus gives a meaning to: a histogram's bucket bound, a summary's quantile. */
export const RESERVED_LABEL_NAMES: readonly string[] = ['le', 'quantile'];

/** The canonical form of an attribution key: lower-case snake_case, dots allowed. */
export const CANONICAL_KEY = /^[a-z][a-z0-9_.]*$/;

/**
 * The label name a canonical key is exported under by Prometheus exporters, which write `.` as
 * `_` and a run of `_` as one: `tenant.id` and `tenant_id` are both `tenant_id`, so one
 * attribution keeps only one of them.
 */
export function labelName(key: string): string {
  return key.includes('.') || key.includes('__') ? key.replaceAll('.', '_').replace(/_{2,}/g, '_') : key;
}

/** A key as normalised: the canonical key, or why there is none. */
export type NormalizedKey = { readonly key: string; readonly problem?: undefined } | { readonly key?: undefined; readonly problem: string };

const cache = new Map<string, NormalizedKey>();
const TOO_LONG: NormalizedKey = Object.freeze({ problem: `is longer than ${MAX_ATTRIBUTION_KEY_LENGTH} characters` });
const MAX_CACHED = 4096;

function reservedProblem(snake: string): string | undefined {
  const prefix = RESERVED_KEY_PREFIXES.find((p) => snake.startsWith(p));
  if (prefix !== undefined) return `is in the reserved namespace "${prefix}"`;
  const label = labelName(snake);
  const labelPrefix = RESERVED_LABEL_PREFIXES.find((p) => label.startsWith(p));
  if (labelPrefix !== undefined) return `is exported to Prometheus as "${label}", in the reserved namespace "${labelPrefix}"`;
  if (RESERVED_LABEL_NAMES.includes(label)) return `is exported to Prometheus as "${label}", a label name Prometheus reserves`;
  return undefined;
}

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
  const reserved = reservedProblem(snake);
  if (reserved !== undefined) return { problem: reserved };
  return { key: snake };
}

/**
 * Normalises an attribution key, one documented way: camelCase, PascalCase, kebab-case, spaces
 * and capitals become lower-case snake_case (`tenantId` → `tenant_id`, `cost-center` →
 * `cost_center`, `Team` → `team`); any other character outside `a-z0-9.` becomes `_`. Keys that
 * stay invalid (empty, longer than 64 characters, not starting with a letter, in a reserved
 * OpenTelemetry namespace, or exported to Prometheus as a label name this library or Prometheus
 * uses: `server_port`, `otel_scope_name`, `le`) come back with a problem.
 * Never throws; results are cached (bounded), since a process sees few distinct keys.
 */
export function normalizeKey(raw: string): NormalizedKey {
  // Told at once, and never cached: a cache of 4,096 keys of any length is gigabytes for keys of a megabyte.
  if (raw.length > 4 * MAX_ATTRIBUTION_KEY_LENGTH) return TOO_LONG;
  const hit = cache.get(raw);
  if (hit !== undefined) return hit;
  const result = compute(raw);
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(raw, result);
  return result;
}
