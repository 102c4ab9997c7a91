/** Money is an integer wherever it is summed or compared: nano-USD (1e-9 USD). */
export const NANO_PER_USD = 1e9;
/** The largest integer a double holds exactly: about $9,007,199 in nano-USD. Counts and costs are capped there. */
export const MAX_SAFE_AMOUNT = Number.MAX_SAFE_INTEGER;
/** The largest cost limit a budget can count exactly, in dollars (about $9 million). */
export const MAX_COST_LIMIT_USD = Math.floor(MAX_SAFE_AMOUNT / NANO_PER_USD);

/** Dollars to nano-dollars, rounded; non-finite or negative amounts count as 0, absurd ones are capped. */
export function toNanoUsd(usd: number): number {
  if (!(usd > 0)) return 0;
  return Math.min(MAX_SAFE_AMOUNT, Math.round(usd * NANO_PER_USD));
}

/** Nano-dollars to dollars (for display and public fields). */
export function fromNanoUsd(nano: number): number {
  return nano / NANO_PER_USD;
}

/** Whether a dollar amount counts exactly in nano-USD (at most ~$9 million): a cost past it is absurd, and sums of it lose exactness. */
export function fitsNanoUsd(usd: number): boolean {
  return usd * NANO_PER_USD <= MAX_SAFE_AMOUNT;
}

/**
 * An amount as a Redis script reads it (an ARGV string): a non-negative integer no larger than
 * 2^53 − 1; NaN and negatives are 0. Lua numbers are doubles, and one that is not an exact
 * integer below 1e17 cannot reach `HINCRBY` (Redis writes it as `1.2e+17`, and the script fails
 * after some of its writes, so every retry would apply them again).
 */
export function wireAmount(n: number): string {
  return n > 0 ? String(Math.min(MAX_SAFE_AMOUNT, Math.floor(n))) : '0';
}
