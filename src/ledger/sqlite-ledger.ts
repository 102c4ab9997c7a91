import { diag } from '@opentelemetry/api';
import { ConfigurationError } from '../errors/configuration-error.js';
import type { UsageRecord } from '../record.js';
import type { UsageLedger } from './ledger.js';

/** Options of {@link sqliteLedger}. */
export interface SqliteLedgerOptions {
  /** The database file, e.g. `./usage.db`. */
  readonly path: string;
  /** How often buffered records are written (one transaction per batch). @defaultValue `1000` ms */
  readonly flushIntervalMs?: number;
  /** Records held while writes fail; past this, the oldest are dropped (and counted). @defaultValue `100000` */
  readonly maxBuffered?: number;
}

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
] as const;

interface Statement {
  run(...params: unknown[]): unknown;
}
interface Database {
  exec(sql: string): unknown;
  prepare(sql: string): Statement;
  transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
  close(): unknown;
}

function row(r: UsageRecord): unknown[] {
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
  ];
}

/**
 * A UsageLedger in SQLite (table `usage`), through `better-sqlite3` version 12, an optional
 * dependency you install (`npm install better-sqlite3@12`). Records are inserted in batches, one
 * transaction each, off the hot path.
 */
export async function sqliteLedger(options: SqliteLedgerOptions): Promise<UsageLedger> {
  if (typeof options?.path !== 'string' || options.path.length === 0) throw new ConfigurationError('sqliteLedger.path', 'must be a file path');
  let Sqlite: new (path: string) => Database;
  try {
    const mod = (await import('better-sqlite3')) as unknown as { default: new (path: string) => Database };
    Sqlite = mod.default;
  } catch {
    throw new ConfigurationError('sqliteLedger', 'needs the better-sqlite3 package: npm install better-sqlite3@12');
  }
  const db = new Sqlite(options.path);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec(`CREATE TABLE IF NOT EXISTS usage (${SQLITE_COLUMNS.map((c) => `${c} ${/tokens|_ms|usd/.test(c) ? 'REAL' : 'TEXT'}`).join(', ')})`);
  db.exec('CREATE INDEX IF NOT EXISTS usage_started_at ON usage (started_at)');
  const insert = db.prepare(`INSERT INTO usage (${SQLITE_COLUMNS.join(', ')}) VALUES (${SQLITE_COLUMNS.map(() => '?').join(', ')})`);
  const insertMany = db.transaction((records: UsageRecord[]) => {
    for (const r of records) insert.run(...row(r));
  });
  const interval = options.flushIntervalMs ?? 1000;
  const maxBuffered = options.maxBuffered ?? 100_000;
  let buffer: UsageRecord[] = [];
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let reported = false;
  const state = { written: 0, dropped: 0 };

  const flush = (): Promise<void> => {
    if (buffer.length === 0) return Promise.resolve();
    const batch = buffer;
    buffer = [];
    try {
      insertMany(batch);
      state.written += batch.length;
    } catch (error) {
      state.dropped += batch.length;
      if (!reported) {
        reported = true;
        diag.error(`bedrock-finops: the SQLite usage ledger could not write (${error instanceof Error ? error.message : String(error)}); records are being dropped, calls are unaffected`);
      }
    }
    return Promise.resolve();
  };

  return {
    write(record) {
      if (closed) return;
      buffer.push(record);
      if (buffer.length > maxBuffered) {
        buffer.shift();
        state.dropped++;
      }
      if (timer === undefined) {
        timer = setTimeout(() => {
          timer = undefined;
          void flush();
        }, interval);
        timer.unref();
      }
    },
    flush,
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      await flush();
      db.close();
    },
    get written() {
      return state.written;
    },
    get dropped() {
      return state.dropped;
    },
  };
}
