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
