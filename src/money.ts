/** Money is an integer wherever it is summed or compared: nano-USD (1e-9 USD). */
export const NANO_PER_USD = 1e9;
/** Larger than any sane count or cost in nano-USD, and still exact in a double. */
export const MAX_SAFE_AMOUNT = 2 ** 52;

/** Dollars to nano-dollars, rounded; non-finite or negative amounts count as 0, absurd ones are capped. */
export function toNanoUsd(usd: number): number {
  if (!(usd > 0)) return 0;
  return Math.min(MAX_SAFE_AMOUNT, Math.round(usd * NANO_PER_USD));
}

/** Nano-dollars to dollars (for display and public fields). */
export function fromNanoUsd(nano: number): number {
  return nano / NANO_PER_USD;
}
