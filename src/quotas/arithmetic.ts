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
  return { tokens: Math.ceil(Math.max(0, inputEstimate) + Math.max(0, maxOutputTokens) * burndown), requests: 1 };
}

/**
 * What a settled call is charged, the way Bedrock counts it at the end of a request:
 * `InputTokenCount + CacheWriteInputTokens + OutputTokenCount × burndown` (cache reads are free).
 */
export function quotaCharge(record: Pick<UsageRecord, 'inputTokens' | 'cacheWriteInputTokens' | 'outputTokens'>, burndown: number): number {
  const n = record.inputTokens + record.cacheWriteInputTokens + record.outputTokens * burndown;
  return Number.isFinite(n) && n > 0 ? Math.ceil(n) : 0;
}
