import { MAX_SAFE_AMOUNT } from '../money.js';
import type { UsageRecord } from '../record.js';
import type { QuotaAmount } from './amount.js';

/**
 * What a call needs of a quota before it is sent, the way Bedrock counts it: its whole prompt
 * (the input estimate, cache reads and writes included) plus its output cap × the model's
 * burndown, and one request. Bedrock's guide reserves input + `max_tokens` at request start and
 * adjusts as output is generated; holding `max_tokens × burndown` is what the call can end up
 * charging, so the governor's view is never below Bedrock's.
 */
export function quotaNeed(inputEstimate: number, maxOutputTokens: number, burndown: number): QuotaAmount {
  const n = Math.ceil(Math.max(0, inputEstimate) + Math.max(0, maxOutputTokens) * burndown);
  return { tokens: n >= 0 ? Math.min(MAX_SAFE_AMOUNT, n) : 0, requests: 1 };
}

/**
 * What a settled call is charged, the way Bedrock counts it at the end of a request:
 * `InputTokenCount + CacheWriteInputTokens + OutputTokenCount × burndown` (cache reads are free),
 * at most 2^53 − 1.
 */
export function quotaCharge(record: Pick<UsageRecord, 'inputTokens' | 'cacheWriteInputTokens' | 'outputTokens'>, burndown: number): number {
  const n = record.inputTokens + record.cacheWriteInputTokens + record.outputTokens * burndown;
  // Capped where sums stay exact (and a shared store's script can count them): an absurd count is still the whole quota.
  return n > 0 ? Math.min(MAX_SAFE_AMOUNT, Math.ceil(n)) : 0;
}
