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

/** `entry` for one `per` value (`tenant`) of its budget: the same window and amounts, the tenant's counter. */
export function tenantEntry(entry: ReservationEntry, tenant: string): ReservationEntry {
  return { ...entry, key: entry.key.replace('\u0001\u0001', `\u0001${tenant}\u0001`) };
}

let calls = 0;
/**
 * One call reserving `entry`, then committed in full (`entry.amounts`) when admitted; `unavailable`
 * when the store could not decide (Redis unreachable or recovering).
 */
export async function entryCall(store: Pick<BudgetStore, 'reserve' | 'commit'>, entry: ReservationEntry): Promise<DayCallOutcome> {
  const id = `day-call-${calls++}`;
  try {
    if (!(await store.reserve({ id, entries: [entry], now: Date.now(), leaseMs: 60_000 })).admitted) return 'refused';
  } catch (error) {
    if (!isBudgetStoreUnavailableError(error)) throw error;
    return 'unavailable';
  }
  void store.commit({ id, entries: [{ key: entry.key, budget: entry.budget, actual: entry.amounts, windowEnd: entry.windowEnd }], now: Date.now() });
  return 'admitted';
}

/** One call of `amount` tokens on `budget`'s day counter under `limit` (see {@link entryCall}). */
export function dayCall(store: Pick<BudgetStore, 'reserve' | 'commit'>, budget: string, limit: number, amount: number): Promise<DayCallOutcome> {
  return entryCall(store, dayEntry(budget, limit, amount));
}

/**
 * `lanes` lanes each making `call()` after call until `stop()` or until one is not admitted: how
 * many were admitted, and how each lane that stopped on a call ended.
 */
export async function busyLanes(lanes: number, stop: () => boolean, call: () => Promise<DayCallOutcome>): Promise<{ admitted: number; ends: DayCallOutcome[] }> {
  let admitted = 0;
  const ends: DayCallOutcome[] = [];
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (!stop()) {
        const o = await call();
        if (o !== 'admitted') return void ends.push(o);
        admitted++;
      }
    }),
  );
  return { admitted, ends };
}
