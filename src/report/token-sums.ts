import type { UsageRecord } from '../record.js';
import { NanoSum } from './money.js';

/** Calls, tokens (Bedrock's meaning: input excludes cache) and cost in nano-USD, added up per group. */
export interface TokenSums {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens: number;
  cacheWriteInputTokens: number;
  cacheWrite1hInputTokens: number;
  readonly costNano: NanoSum;
}

export const emptySums = (): TokenSums => ({ calls: 0, inputTokens: 0, outputTokens: 0, cacheReadInputTokens: 0, cacheWriteInputTokens: 0, cacheWrite1hInputTokens: 0, costNano: new NanoSum() });

/** Adds one call (its cost already in nano-USD) to the sums. */
export function addSums(s: TokenSums, r: UsageRecord, costNano: number): void {
  s.calls++;
  s.inputTokens += r.inputTokens;
  s.outputTokens += r.outputTokens;
  s.cacheReadInputTokens += r.cacheReadInputTokens;
  s.cacheWriteInputTokens += r.cacheWriteInputTokens;
  s.cacheWrite1hInputTokens += r.cacheWrite1hInputTokens;
  s.costNano.add(costNano);
}
