import type { UsageRecord } from '../record.js';

/** The value of a call shown for a missing attribution key. */
export const NONE = '(none)';

/**
 * Built-in dimensions; any other name is an attribution key. `model` is the id that served the
 * call (an ARN for provisioned throughput), `day` and `hour` are UTC.
 */
export const BUILT_IN_DIMENSIONS: Readonly<Record<string, (r: UsageRecord, iso: string) => string>> = {
  model: (r) => r.modelId,
  day: (_, iso) => iso.slice(0, 10),
  hour: (_, iso) => `${iso.slice(0, 13)}:00Z`,
  operation: (r) => r.operation,
  outcome: (r) => r.outcome,
  tier: (r) => r.serviceTier ?? 'default',
};

/** The value of one dimension for a call (`iso`: its start as an ISO string, computed once per record). */
export function dimensionValue(r: UsageRecord, dimension: string, iso = new Date(r.startedAt).toISOString()): string {
  const builtIn = Object.hasOwn(BUILT_IN_DIMENSIONS, dimension) ? BUILT_IN_DIMENSIONS[dimension] : undefined;
  // Own keys only: `--by constructor` read Object.prototype.constructor (a function) and crashed the report.
  return builtIn === undefined ? ((Object.hasOwn(r.attribution, dimension) ? r.attribution[dimension] : undefined) ?? NONE) : builtIn(r, iso);
}

/** A breakdown request: one dimension, or several grouped by their combination. */
export type BreakdownSpec = string | readonly string[];

export const specDimensions = (spec: BreakdownSpec): readonly string[] => (typeof spec === 'string' ? [spec] : spec);

/** `--by team,model --by day` → `[['team', 'model'], ['day']]`; one `--by` value is one table. */
export function parseBy(values: readonly string[]): string[][] {
  return values.map((v) => v.split(',').map((s) => s.trim()).filter((s) => s.length > 0)).filter((d) => d.length > 0);
}

/** A short, readable model name: the ARN's last part for provisioned throughput and other ARNs. */
export function shortModel(id: string): string {
  return id.startsWith('arn:') ? (id.split('/').pop() ?? id) : id;
}
