import type { UsageRecord } from '../record.js';

/** Log attribute values (what OpenTelemetry accepts): no nested objects, no text of the call. */
export type LogAttributes = Record<string, string | number | boolean>;

/** The event name of a usage log record. */
export const USAGE_EVENT = 'bedrock_finops.usage';
/** The event name of the header log record (provisioned commitments). */
export const HEADER_EVENT = 'bedrock_finops.ledger_header';
/** Attribution keys are attributes under this prefix, e.g. `bedrock_finops.attribution.team`. */
export const ATTRIBUTION_PREFIX = 'bedrock_finops.attribution.';

/** Record field → attribute name. Absent (undefined) fields are left out. */
export const LOG_ATTRIBUTE_NAMES = {
  operation: 'bedrock_finops.operation',
  requestedModelId: 'bedrock_finops.requested_model_id',
  modelId: 'bedrock_finops.model_id',
  modelKind: 'bedrock_finops.model_kind',
  baseModelId: 'bedrock_finops.base_model_id',
  inputTokens: 'bedrock_finops.input_tokens',
  outputTokens: 'bedrock_finops.output_tokens',
  cacheReadInputTokens: 'bedrock_finops.cache_read_input_tokens',
  cacheWriteInputTokens: 'bedrock_finops.cache_write_input_tokens',
  cacheWrite1hInputTokens: 'bedrock_finops.cache_write_1h_input_tokens',
  speechInputTokens: 'bedrock_finops.speech_input_tokens',
  speechOutputTokens: 'bedrock_finops.speech_output_tokens',
  serviceTier: 'bedrock_finops.service_tier',
  performanceLatency: 'bedrock_finops.performance_latency',
  maxTokens: 'bedrock_finops.max_tokens',
  usageSource: 'bedrock_finops.usage_source',
  costUsd: 'bedrock_finops.cost_usd',
  onDemandEquivalentUsd: 'bedrock_finops.on_demand_equivalent_usd',
  durationMs: 'bedrock_finops.duration_ms',
  timeToFirstChunkMs: 'bedrock_finops.time_to_first_chunk_ms',
  startedAt: 'bedrock_finops.started_at',
  outcome: 'bedrock_finops.outcome',
  error: 'bedrock_finops.error',
  requestId: 'bedrock_finops.request_id',
} as const satisfies Partial<Record<keyof UsageRecord, string>>;

export const FALLBACK_FROM = 'bedrock_finops.fallback.from';
export const FALLBACK_REASON = 'bedrock_finops.fallback.reason';

/** A usage record as flat log attributes (`startedAt` as an ISO string). */
export function toLogAttributes(r: UsageRecord): LogAttributes {
  const out: LogAttributes = {};
  for (const [field, name] of Object.entries(LOG_ATTRIBUTE_NAMES)) {
    const v = field === 'startedAt' ? new Date(r.startedAt).toISOString() : (r as unknown as Record<string, unknown>)[field];
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[name] = v;
  }
  for (const [k, v] of Object.entries(r.attribution)) out[`${ATTRIBUTION_PREFIX}${k}`] = v;
  if (r.fallback !== undefined) {
    out[FALLBACK_FROM] = r.fallback.from;
    out[FALLBACK_REASON] = r.fallback.reason;
  }
  return out;
}

/**
 * Log attributes (as a collector delivers them) back to the stored record's fields, for
 * `parseRecord` to check: how a store fed by the collector gets records the report can read.
 */
export function fromLogAttributes(attributes: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [field, name] of Object.entries(LOG_ATTRIBUTE_NAMES)) if (attributes[name] !== undefined) o[field] = attributes[name];
  const attribution: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(attributes)) if (k.startsWith(ATTRIBUTION_PREFIX)) attribution[k.slice(ATTRIBUTION_PREFIX.length)] = v;
  o.attribution = attribution;
  if (attributes[FALLBACK_FROM] !== undefined) o.fallback = { from: attributes[FALLBACK_FROM], reason: attributes[FALLBACK_REASON] };
  return o;
}
