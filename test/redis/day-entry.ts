import type { ReservationEntry, Units } from '../../src/budgets/index.js';

/** A day, in ms: the window of the budgets these tests reserve against. */
export const DAY = 86_400_000;

/** `n` tokens, all input, no cost. */
export const units = (n: number): Units => ({ tokens: n, inputTokens: n, outputTokens: 0, nanoUsd: 0 });

/** A reservation entry on `budget`'s counter for the UTC day of `now`: `amount` tokens under a `limit` of tokens. */
export function dayEntry(budget: string, limit: number, amount: number, now = Date.now()): ReservationEntry {
  const start = now - (now % DAY);
  return { key: `${budget}\u0001\u0001${start}`, budget, limits: { tokens: limit }, amounts: units(amount), enforce: true, windowEnd: start + DAY };
}
