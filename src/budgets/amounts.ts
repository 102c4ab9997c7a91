/** What a budget can limit. `tokens` counts every billed token (input, output, cache reads and writes). */
export type LimitType = 'tokens' | 'inputTokens' | 'outputTokens' | 'costUsd';

export const LIMIT_TYPES: readonly LimitType[] = ['tokens', 'inputTokens', 'outputTokens', 'costUsd'];

/** An amount of each limit type. `inputTokens` includes cache reads and writes. */
export interface Amounts {
  tokens: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export type Limits = Readonly<Partial<Amounts>>;

export function zeroAmounts(): Amounts {
  return { tokens: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
}

export function addInto(into: Amounts, from: Readonly<Amounts>, sign = 1): void {
  into.tokens += sign * from.tokens;
  into.inputTokens += sign * from.inputTokens;
  into.outputTokens += sign * from.outputTokens;
  into.costUsd += sign * from.costUsd;
}

/** The first limit type that `used + reserved + requested` would exceed, if any. */
export function exceededLimit(limits: Limits, used: Readonly<Amounts>, reserved: Readonly<Amounts>, requested: Readonly<Amounts>): LimitType | undefined {
  for (const type of LIMIT_TYPES) {
    const limit = limits[type];
    // A tiny epsilon keeps float sums of USD from rejecting an exact fit.
    if (limit !== undefined && used[type] + reserved[type] + requested[type] > limit + 1e-9) return type;
  }
  return undefined;
}
