import type { BudgetStore, ReservationEntry, Units } from '../../src/budgets/index.js';
import { isBudgetStoreUnavailableError } from '../../src/errors/budget-store-unavailable-error.js';

/** A day, in ms: the window of the budgets these tests reserve against. */
export const DAY = 86_400_000;

/** `n` tokens, all input, no cost. */
export const units = (n: number): Units => ({ tokens: n, inputTokens: n, outputTokens: 0, nanoUsd: 0 });

/** A reservation entry on `budget`'s counter for the UTC day of `now`: `amount` tokens under a `limit` of tokens. */
export function dayEntry(budget: string, limit: number, amount: number, now = Date.now()): ReservationEntry {
  const start = now - (now % DAY);
  return { key: `${budget}\u0001\u0001${start}`, budget, limits: { tokens: limit }, amounts: units(amount), enforce: true, windowEnd: start + DAY };
}

/** How a {@link dayCall} ended. */
export type DayCallOutcome = 'admitted' | 'refused' | 'unavailable';

let calls = 0;
/**
 * One call of `amount` tokens on `budget`'s day counter under `limit`: reserved, then committed in
 * full when admitted; `unavailable` when the store could not decide (Redis unreachable or recovering).
 */
export async function dayCall(store: Pick<BudgetStore, 'reserve' | 'commit'>, budget: string, limit: number, amount: number): Promise<DayCallOutcome> {
  const e = dayEntry(budget, limit, amount);
  const id = `day-call-${calls++}`;
  try {
    if (!(await store.reserve({ id, entries: [e], now: Date.now(), leaseMs: 60_000 })).admitted) return 'refused';
  } catch (error) {
    if (!isBudgetStoreUnavailableError(error)) throw error;
    return 'unavailable';
  }
  void store.commit({ id, entries: [{ key: e.key, budget, actual: units(amount), windowEnd: e.windowEnd }], now: Date.now() });
  return 'admitted';
}
