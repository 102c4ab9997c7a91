import { fitsNanoUsd, MAX_SAFE_AMOUNT } from '../money.js';
import type { UsageRecord } from '../record.js';

/** Why a stored line or row is not a usage record. */
export type Rejection = 'torn' | 'mistyped';

const OPERATIONS = new Set(['Converse', 'ConverseStream', 'InvokeModel', 'InvokeModelWithResponseStream', 'InvokeModelWithBidirectionalStream']);
const OUTCOMES = new Set(['success', 'error', 'abandoned']);
const SOURCES = new Set(['usage', 'headers', 'invocation-metrics', 'body', 'estimate', 'none', 'unsent']);
const TOKEN_FIELDS = ['inputTokens', 'outputTokens', 'cacheReadInputTokens', 'cacheWriteInputTokens'] as const;

// A count or cost the report can add exactly: past 2^53 (tokens) or ~$9 million per call (nano-USD) a
// record is absurd, and one such line made every total Infinity (a FOCUS BilledCost of "0.0Infinity").
const count = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= MAX_SAFE_AMOUNT;
const usd = (v: unknown): v is number | undefined | null => v === undefined || v === null || (typeof v === 'number' && v >= 0 && fitsNanoUsd(v));
/** Calls from 2000 to 9999 (four-digit ISO years, which SQLite compares as text): a time outside is not a call (one past year 275760 threw out of the report). */
const FIRST_CALL = Date.UTC(2000, 0, 1);
const AFTER_LAST_CALL = Date.UTC(10000, 0, 1);
const optionalString = (v: unknown): v is string | undefined | null => v === undefined || v === null || typeof v === 'string';
const optionalCount = (v: unknown): v is number | undefined | null => v === undefined || v === null || count(v);
const orUndefined = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);

function attribution(v: unknown): Record<string, string> | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  for (const value of Object.values(v)) if (typeof value !== 'string') return undefined;
  return v as Record<string, string>;
}

function startedAtOf(v: unknown): number | undefined {
  // A date-time without an offset is UTC, as the ledger writes it: Date.parse would read it in the reader's time zone.
  const t = typeof v === 'string' ? Date.parse(/T[\d:.]+$/.test(v) ? `${v}Z` : v) : typeof v === 'number' ? v : Number.NaN;
  return t >= FIRST_CALL && t < AFTER_LAST_CALL ? t : undefined;
}

/**
 * A stored object (a parsed JSON line, a SQLite row mapped to field names) as a UsageRecord, or
 * `'mistyped'` when a field has the wrong type: well-formed JSON that is not a record the report
 * can add up (attribution `null`, a number as a string…). Untrusted input: never throws.
 */
export function parseRecord(o: unknown): UsageRecord | 'mistyped' {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'mistyped';
  const r = o as Record<string, unknown>;
  const startedAt = startedAtOf(r.startedAt);
  const attr = attribution(r.attribution === undefined ? {} : r.attribution);
  if (typeof r.operation !== 'string' || !OPERATIONS.has(r.operation) || typeof r.modelId !== 'string' || startedAt === undefined || attr === undefined) return 'mistyped';
  for (const k of TOKEN_FIELDS) if (!count(r[k])) return 'mistyped';
  if (!optionalCount(r.speechInputTokens) || !optionalCount(r.speechOutputTokens) || !optionalString(r.performanceLatency) || !optionalCount(r.maxTokens)) return 'mistyped';
  if (!optionalCount(r.cacheWrite1hInputTokens) || !usd(r.costUsd) || !usd(r.onDemandEquivalentUsd) || !optionalCount(r.durationMs) || !optionalCount(r.timeToFirstChunkMs)) return 'mistyped';
  if (!optionalString(r.requestedModelId) || !optionalString(r.baseModelId) || !optionalString(r.serviceTier) || !optionalString(r.error) || !optionalString(r.requestId) || !optionalString(r.modelKind)) return 'mistyped';
  const fallback = r.fallback;
  if (fallback !== undefined && fallback !== null && (typeof fallback !== 'object' || typeof (fallback as { from?: unknown }).from !== 'string' || typeof (fallback as { reason?: unknown }).reason !== 'string')) return 'mistyped';
  const outcome = typeof r.outcome === 'string' && OUTCOMES.has(r.outcome) ? r.outcome : r.error === undefined || r.error === null ? 'success' : 'error';
  const usageSource = typeof r.usageSource === 'string' && SOURCES.has(r.usageSource) ? r.usageSource : 'usage';
  return {
    operation: r.operation as UsageRecord['operation'],
    requestedModelId: orUndefined(r.requestedModelId) ?? r.modelId,
    modelId: r.modelId,
    modelKind: (orUndefined(r.modelKind) ?? 'unknown') as UsageRecord['modelKind'],
    baseModelId: orUndefined(r.baseModelId),
    attribution: attr,
    inputTokens: r.inputTokens as number,
    outputTokens: r.outputTokens as number,
    cacheReadInputTokens: r.cacheReadInputTokens as number,
    cacheWriteInputTokens: r.cacheWriteInputTokens as number,
    cacheWrite1hInputTokens: orUndefined(r.cacheWrite1hInputTokens) ?? 0,
    speechInputTokens: orUndefined(r.speechInputTokens) ?? 0,
    speechOutputTokens: orUndefined(r.speechOutputTokens) ?? 0,
    serviceTier: orUndefined(r.serviceTier),
    performanceLatency: orUndefined(r.performanceLatency),
    maxTokens: orUndefined(r.maxTokens),
    usageSource: usageSource as UsageRecord['usageSource'],
    costUsd: orUndefined(r.costUsd),
    onDemandEquivalentUsd: orUndefined(r.onDemandEquivalentUsd),
    durationMs: orUndefined(r.durationMs) ?? 0,
    timeToFirstChunkMs: orUndefined(r.timeToFirstChunkMs),
    startedAt,
    fallback: fallback === null || fallback === undefined ? undefined : { from: (fallback as { from: string }).from, reason: (fallback as { reason: string }).reason },
    outcome: outcome as UsageRecord['outcome'],
    error: orUndefined(r.error),
    requestId: orUndefined(r.requestId),
  };
}
