// `bedrock-finops/ledger`: where every usage record is also written, and how to read it back.
export type { UsageLedger } from './ledger.js';
export type { LedgerHeader, LedgerProvisioned, StoredHeader } from './header.js';
export { mergeHeaders } from './header.js';
export { jsonlLedger } from './jsonl-ledger.js';
export type { JsonlLedgerOptions } from './jsonl-ledger.js';
export type { JsonlRetention } from './jsonl-files.js';
export { sqliteLedger, SQLITE_COLUMNS } from './sqlite-ledger.js';
export type { SqliteLedgerOptions } from './sqlite-ledger.js';
export { otelLogLedger } from './otel-log-ledger.js';
export type { OtelLogLedgerOptions, LoggerProviderLike, UsageLogRecord } from './otel-log-ledger.js';
export { USAGE_EVENT, HEADER_EVENT, LOG_ATTRIBUTE_NAMES, ATTRIBUTION_PREFIX, toLogAttributes, fromLogAttributes } from './otel-attributes.js';
export type { LogAttributes } from './otel-attributes.js';
export { readLedger, readLedgers } from './read-ledger.js';
export type { LedgerReadSummary } from './read-ledger.js';
export type { LedgerVisitor, ReadCounts, TimeWindow, LedgerFileProblem } from './read-types.js';
export { resolveInputs, LedgerInputError } from './inputs.js';
export type { LedgerInput } from './inputs.js';
export { parseRecord } from './parse-record.js';
