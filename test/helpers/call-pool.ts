import { isBudgetExceededError } from '../../src/index.js';

/** How a batch of calls went: admitted (and the tokens they used) or refused, and why. */
export interface CallTally {
  admitted: number;
  /** Refused because a budget was full. */
  refused: number;
  /** Refused because the budget store could not be asked. */
  unavailable: number;
  errors: number;
  tokens: number;
}

/** Makes `calls` calls with at most `concurrency` in flight and tallies them; other errors go to `onError`. */
export async function callPool(calls: number, concurrency: number, call: () => Promise<{ usage?: { totalTokens?: number | undefined } | undefined }>, onError: (e: unknown) => void = () => undefined): Promise<CallTally> {
  const tally: CallTally = { admitted: 0, refused: 0, unavailable: 0, errors: 0, tokens: 0 };
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, calls) }, async () => {
      while (next < calls) {
        next++;
        try {
          const out = await call();
          tally.admitted++;
          tally.tokens += out.usage?.totalTokens ?? 0;
        } catch (e) {
          if (!isBudgetExceededError(e)) {
            tally.errors++;
            onError(e);
          } else if (e.reason === 'store-unavailable') tally.unavailable++;
          else tally.refused++;
        }
      }
    }),
  );
  return tally;
}
