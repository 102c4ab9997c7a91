import { fromNanoUsd, MAX_SAFE_AMOUNT, toNanoUsd } from '../money.js';

export { toNanoUsd };

/** What a budget can limit. `tokens` counts every billed token (input, output, cache reads and writes). */
export type LimitType = 'tokens' | 'inputTokens' | 'outputTokens' | 'costUsd';

export const LIMIT_TYPES: readonly LimitType[] = ['tokens', 'inputTokens', 'outputTokens', 'costUsd'];

/** An amount of each limit type, as budgets report it. `inputTokens` includes cache reads and writes; `costUsd` is in US dollars. */
export interface Amounts {
  tokens: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

/** Public limits, as configured (`costUsd` in dollars). */
export type Limits = Readonly<Partial<Amounts>>;

/**
 * What budget stores count: integers only, so sums are exact and a released reservation returns
 * a counter to exactly what it was. Cost is in nano-USD (1e-9 USD): exact in a double up to
 * about $9M per counter, and one call's rounding is at most half a nano-dollar.
 */
export interface Units {
  readonly tokens: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly nanoUsd: number;
}

/** Store-side limits, in {@link Units}. */
export type UnitLimits = Readonly<Partial<Units>>;

/** The {@link Units} field a limit type is counted in. */
export type UnitField = keyof Units;
export const UNIT_FIELDS: readonly UnitField[] = ['tokens', 'inputTokens', 'outputTokens', 'nanoUsd'];
export const FIELD_OF: Readonly<Record<LimitType, UnitField>> = { tokens: 'tokens', inputTokens: 'inputTokens', outputTokens: 'outputTokens', costUsd: 'nanoUsd' };
export const LIMIT_OF: Readonly<Record<UnitField, LimitType>> = { tokens: 'tokens', inputTokens: 'inputTokens', outputTokens: 'outputTokens', nanoUsd: 'costUsd' };


export const ZERO_UNITS: Units = Object.freeze({ tokens: 0, inputTokens: 0, outputTokens: 0, nanoUsd: 0 });

/** A count made safe to add: a non-negative integer, capped. */
export function safeCount(n: number): number {
  if (!(n > 0)) return 0;
  return Math.min(MAX_SAFE_AMOUNT, Math.ceil(n));
}

export function units(tokens: { inputTokens: number; outputTokens: number }, usd: number): Units {
  const inputTokens = safeCount(tokens.inputTokens);
  const outputTokens = safeCount(tokens.outputTokens);
  return { tokens: inputTokens + outputTokens, inputTokens, outputTokens, nanoUsd: toNanoUsd(usd) };
}

export function addUnits(a: Units, b: Units): Units {
  return { tokens: a.tokens + b.tokens, inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens, nanoUsd: a.nanoUsd + b.nanoUsd };
}

/** `a − b`, never below 0 per field. */
export function subUnits(a: Units, b: Units): Units {
  return {
    tokens: Math.max(0, a.tokens - b.tokens),
    inputTokens: Math.max(0, a.inputTokens - b.inputTokens),
    outputTokens: Math.max(0, a.outputTokens - b.outputTokens),
    nanoUsd: Math.max(0, a.nanoUsd - b.nanoUsd),
  };
}

/** The larger of each field. */
export function maxUnits(a: Units, b: Units): Units {
  return { tokens: Math.max(a.tokens, b.tokens), inputTokens: Math.max(a.inputTokens, b.inputTokens), outputTokens: Math.max(a.outputTokens, b.outputTokens), nanoUsd: Math.max(a.nanoUsd, b.nanoUsd) };
}

export function isZeroUnits(a: Units): boolean {
  return a.tokens === 0 && a.inputTokens === 0 && a.outputTokens === 0 && a.nanoUsd === 0;
}

/** The first limit that `used + reserved + requested` would pass, if any (integers: exact). */
export function exceededField(limits: UnitLimits, used: Units, reserved: Units, requested: Units): UnitField | undefined {
  // Named reads, in UNIT_FIELDS order (admission runs this per call: a loop over field names reads
  // each through V8's shared lookup cache, cold between calls).
  const { tokens, inputTokens, outputTokens, nanoUsd } = limits;
  if (tokens !== undefined && used.tokens + reserved.tokens + requested.tokens > tokens) return 'tokens';
  if (inputTokens !== undefined && used.inputTokens + reserved.inputTokens + requested.inputTokens > inputTokens) return 'inputTokens';
  if (outputTokens !== undefined && used.outputTokens + reserved.outputTokens + requested.outputTokens > outputTokens) return 'outputTokens';
  if (nanoUsd !== undefined && used.nanoUsd + reserved.nanoUsd + requested.nanoUsd > nanoUsd) return 'nanoUsd';
  return undefined;
}

/** Public limits to store units (cost limits to nano-USD). */
export function limitsToUnits(limits: Limits): UnitLimits {
  const out: { -readonly [K in UnitField]?: number } = {};
  for (const t of LIMIT_TYPES) {
    const v = limits[t];
    if (v !== undefined) out[FIELD_OF[t]] = t === 'costUsd' ? toNanoUsd(v) : Math.floor(v);
  }
  return out;
}

/** One field of store units in public terms (nano-USD to dollars). */
export function publicValue(field: UnitField, value: number): number {
  return field === 'nanoUsd' ? fromNanoUsd(value) : value;
}

/** Store units in public terms. */
export function toAmounts(u: Units): Amounts {
  return { tokens: u.tokens, inputTokens: u.inputTokens, outputTokens: u.outputTokens, costUsd: fromNanoUsd(u.nanoUsd) };
}

/** A public (partial) estimate to store units. */
export function amountsToUnits(a: Partial<Amounts>): Units {
  return {
    tokens: safeCount(a.tokens ?? 0),
    inputTokens: safeCount(a.inputTokens ?? 0),
    outputTokens: safeCount(a.outputTokens ?? 0),
    nanoUsd: toNanoUsd(a.costUsd ?? 0),
  };
}
