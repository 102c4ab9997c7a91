import type { UsageRecord } from '../record.js';

/** The columns of the `usage` table; `attribution` and `fallback` are JSON. */
export const SQLITE_COLUMNS = [
  'started_at',
  'operation',
  'requested_model_id',
  'model_id',
  'model_kind',
  'base_model_id',
  'attribution',
  'input_tokens',
  'output_tokens',
  'cache_read_input_tokens',
  'cache_write_input_tokens',
  'cache_write_1h_input_tokens',
  'service_tier',
  'usage_source',
  'cost_usd',
  'on_demand_equivalent_usd',
  'duration_ms',
  'time_to_first_chunk_ms',
  'fallback',
  'outcome',
  'error',
  'request_id',
  'speech_input_tokens',
  'speech_output_tokens',
  'performance_latency',
  'max_tokens',
] as const;

/** A column's SQL type. */
export const columnType = (c: string): string => (/tokens|_ms|usd/.test(c) ? 'REAL' : 'TEXT');

/** The statements that create the ledger's tables (idempotent). */
export const SQLITE_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS usage (${SQLITE_COLUMNS.map((c) => `${c} ${columnType(c)}`).join(', ')})`,
  'CREATE INDEX IF NOT EXISTS usage_started_at ON usage (started_at)',
  'CREATE TABLE IF NOT EXISTS ledger_header (written_at TEXT, header TEXT)',
];

export const SQLITE_INSERT = `INSERT INTO usage (${SQLITE_COLUMNS.join(', ')}) VALUES (${SQLITE_COLUMNS.map(() => '?').join(', ')})`;

/** A record as the row's values, in {@link SQLITE_COLUMNS} order (plain data: it crosses to the writer thread). */
export function toRow(r: UsageRecord): (string | number | null)[] {
  return [
    new Date(r.startedAt).toISOString(),
    r.operation,
    r.requestedModelId,
    r.modelId,
    r.modelKind,
    r.baseModelId ?? null,
    JSON.stringify(r.attribution),
    r.inputTokens,
    r.outputTokens,
    r.cacheReadInputTokens,
    r.cacheWriteInputTokens,
    r.cacheWrite1hInputTokens,
    r.serviceTier ?? null,
    r.usageSource,
    r.costUsd ?? null,
    r.onDemandEquivalentUsd ?? null,
    r.durationMs,
    r.timeToFirstChunkMs ?? null,
    r.fallback === undefined ? null : JSON.stringify(r.fallback),
    r.outcome,
    r.error ?? null,
    r.requestId ?? null,
    r.speechInputTokens,
    r.speechOutputTokens,
    r.performanceLatency ?? null,
    r.maxTokens ?? null,
  ];
}

const json = (v: unknown): unknown => {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return Symbol('unparseable');
  }
};

/** A row read back as the stored record's fields, for {@link parseRecord} to check. */
export function fromRow(r: Record<string, unknown>): Record<string, unknown> {
  return {
    startedAt: r.started_at,
    operation: r.operation,
    requestedModelId: r.requested_model_id,
    modelId: r.model_id,
    modelKind: r.model_kind,
    baseModelId: r.base_model_id,
    attribution: json(r.attribution),
    inputTokens: r.input_tokens,
    outputTokens: r.output_tokens,
    cacheReadInputTokens: r.cache_read_input_tokens,
    cacheWriteInputTokens: r.cache_write_input_tokens,
    cacheWrite1hInputTokens: r.cache_write_1h_input_tokens,
    serviceTier: r.service_tier,
    usageSource: r.usage_source,
    costUsd: r.cost_usd,
    onDemandEquivalentUsd: r.on_demand_equivalent_usd,
    durationMs: r.duration_ms,
    timeToFirstChunkMs: r.time_to_first_chunk_ms,
    fallback: json(r.fallback),
    outcome: r.outcome,
    error: r.error,
    requestId: r.request_id,
    speechInputTokens: r.speech_input_tokens,
    speechOutputTokens: r.speech_output_tokens,
    performanceLatency: r.performance_latency,
    maxTokens: r.max_tokens,
  };
}
