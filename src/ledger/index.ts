// `bedrock-finops/ledger`: where every usage record is also written, and how to read it back.
export type { UsageLedger } from './ledger.js';
export { jsonlLedger } from './jsonl-ledger.js';
export type { JsonlLedgerOptions } from './jsonl-ledger.js';
export { sqliteLedger } from './sqlite-ledger.js';
export type { SqliteLedgerOptions } from './sqlite-ledger.js';
export { readLedger } from './read-ledger.js';
