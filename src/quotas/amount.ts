/**
 * What a quota counts: tokens (Bedrock's quota tokens: input, cache writes and output ×
 * burndown) and requests. Integers only, so sums are exact and a released hold returns a quota
 * to exactly what it was.
 */
export interface QuotaAmount {
  readonly tokens: number;
  readonly requests: number;
}

export const ZERO_AMOUNT: QuotaAmount = Object.freeze({ tokens: 0, requests: 0 });

export const QUOTA_FIELDS = ['tokens', 'requests'] as const;
export type QuotaField = (typeof QUOTA_FIELDS)[number];

export function addAmount(a: QuotaAmount, b: QuotaAmount): QuotaAmount {
  return { tokens: a.tokens + b.tokens, requests: a.requests + b.requests };
}

/** `a − b`, never below 0 per field. */
export function subAmount(a: QuotaAmount, b: QuotaAmount): QuotaAmount {
  return { tokens: Math.max(0, a.tokens - b.tokens), requests: Math.max(0, a.requests - b.requests) };
}

/** The first field in which `use + need` passes `limit`, if any (`Infinity` limits never do). */
export function lackingField(limit: QuotaAmount, use: QuotaAmount, need: QuotaAmount): QuotaField | undefined {
  for (const f of QUOTA_FIELDS) if (use[f] + need[f] > limit[f]) return f;
  return undefined;
}
