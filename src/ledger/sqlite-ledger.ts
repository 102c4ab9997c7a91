import { diag } from '@opentelemetry/api';
import { Worker } from 'node:worker_threads';
import { ConfigurationError } from '../errors/configuration-error.js';
import type { UsageRecord } from '../record.js';
import { storedHeader, type LedgerHeader } from './header.js';
import type { UsageLedger } from './ledger.js';
import { onProcessExit } from './process-exit.js';
import { columnType, SQLITE_COLUMNS, SQLITE_INSERT, SQLITE_SCHEMA, toRow } from './sqlite-schema.js';
import { findSqliteDriver, sqliteDriverProblem, sqliteInstallHint } from './sqlite-driver.js';
import { SQLITE_WRITER_SOURCE } from './sqlite-writer-source.js';

export { SQLITE_COLUMNS } from './sqlite-schema.js';

/** Options of {@link sqliteLedger}. */
export interface SqliteLedgerOptions {
  /** The database file, e.g. `./usage.db`. */
  readonly path: string;
  /** How often buffered records are sent to the writer thread (one transaction per batch). @defaultValue `1000` ms */
  readonly flushIntervalMs?: number;
  /** Records held while the database is locked or failing; past this, the oldest are dropped (and counted). @defaultValue `100000` */
  readonly maxBuffered?: number;
  /** How long the writer thread waits for another connection's lock before retrying later. @defaultValue `2000` ms */
  readonly busyTimeoutMs?: number;
  /** How long `close()` and the process's `exit` wait for a locked database before dropping what is left (counted). @defaultValue `5000` ms */
  readonly closeTimeoutMs?: number;
}

type FromWriter =
  | { type: 'opened' }
  | { type: 'open-error'; message: string }
  | { type: 'status'; written: number; dropped: number }
  | { type: 'error'; message: string }
  | { type: 'flushed'; id: number }
  | { type: 'closed'; written: number; dropped: number; pending: number };

function driverPath(): string {
  const driver = findSqliteDriver();
  if (driver === undefined) throw new ConfigurationError('sqliteLedger', `needs the better-sqlite3 package: ${sqliteInstallHint()}`);
  const problem = sqliteDriverProblem(process.versions.node, driver.version);
  if (problem !== undefined) throw new ConfigurationError('sqliteLedger', problem);
  return driver.entry;
}

/**
 * A UsageLedger in SQLite (table `usage`, headers in `ledger_header`), through `better-sqlite3`
 * 12 or 13, an optional dependency you install (`npm install better-sqlite3@13` on Node 22 and
 * later, `@12` on Node 20; Node 24.19 and later need 13, and 12 there is refused). Every write
 * happens on a worker thread: another connection holding the database's write lock delays the
 * ledger, never a Bedrock call (records wait, bounded by `maxBuffered`, and are retried). When
 * the process exits without `finops.shutdown()`, the `exit` handler hands the buffer to the
 * writer and waits for it (up to `closeTimeoutMs`).
 */
export async function sqliteLedger(options: SqliteLedgerOptions): Promise<UsageLedger> {
  if (typeof options?.path !== 'string' || options.path.length === 0) throw new ConfigurationError('sqliteLedger.path', 'must be a file path');
  const interval = options.flushIntervalMs ?? 1000;
  const maxBuffered = options.maxBuffered ?? 100_000;
  const closeTimeoutMs = options.closeTimeoutMs ?? 5_000;
  const worker = new Worker(SQLITE_WRITER_SOURCE, {
    eval: true,
    workerData: { driver: driverPath(), path: options.path, schema: SQLITE_SCHEMA, columns: SQLITE_COLUMNS.map((c) => [c, columnType(c)]), insertSql: SQLITE_INSERT, maxBuffered, busyTimeoutMs: options.busyTimeoutMs ?? 2_000, retryMs: 100 },
  });
  const state = { written: 0, dropped: 0, lost: 0 };
  const waiting = new Map<number, () => void>();
  let nextId = 0;
  let alive = true;
  let closedResult: ((m: { written: number; dropped: number; pending: number }) => void) | undefined;
  await new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (m: FromWriter) => {
      if (m.type === 'opened') resolve();
      else if (m.type === 'open-error') reject(new ConfigurationError('sqliteLedger.path', `cannot open ${options.path}: ${m.message}`));
      else if (m.type === 'status') Object.assign(state, { written: m.written, dropped: m.dropped });
      else if (m.type === 'error') diag.error(`bedrock-finops: the SQLite usage ledger could not write to ${options.path} (${m.message}); records wait and are retried up to maxBuffered, calls are unaffected`);
      else if (m.type === 'flushed') waiting.get(m.id)?.();
      else closedResult?.(m);
    });
  }).catch(async (error: unknown) => {
    await worker.terminate();
    throw error;
  });
  worker.on('exit', () => {
    alive = false;
    for (const done of waiting.values()) done();
    closedResult?.({ written: state.written, dropped: state.dropped, pending: 0 });
  });
  worker.unref();

  let buffer: UsageRecord[] = [];
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  // A record that cannot be a row (startedAt NaN: toISOString throws) is counted as dropped; thrown from the timer, it ended the application.
  const rowsOf = (records: readonly UsageRecord[]): ReturnType<typeof toRow>[] => {
    const rows: ReturnType<typeof toRow>[] = [];
    for (const r of records) {
      try {
        rows.push(toRow(r));
      } catch {
        state.lost++;
      }
    }
    return rows;
  };
  const send = (): void => {
    if (buffer.length === 0 || !alive) return;
    worker.postMessage({ type: 'rows', rows: rowsOf(buffer) });
    buffer = [];
  };
  const flush = (deadlineMs?: number): Promise<void> => {
    send();
    if (!alive) return Promise.resolve();
    const id = nextId++;
    return new Promise<void>((resolve) => {
      const timeout = deadlineMs === undefined ? undefined : setTimeout(done, deadlineMs);
      function done(): void {
        clearTimeout(timeout);
        waiting.delete(id);
        // The writer thread does not keep the process alive, except while someone waits for it.
        if (waiting.size === 0) worker.unref();
        resolve();
      }
      waiting.set(id, done);
      worker.ref();
      worker.postMessage({ type: 'flush', id });
    });
  };
  const unhook = onProcessExit(() => {
    if (!alive) return;
    // The event loop is over: wait synchronously for the writer thread, bounded.
    const signal = new SharedArrayBuffer(4);
    worker.postMessage({ type: 'exit', rows: rowsOf(buffer), signal });
    buffer = [];
    Atomics.wait(new Int32Array(signal), 0, 0, closeTimeoutMs);
  });

  return {
    write(record) {
      if (closed) {
        // A call that settles after close (it was in flight at shutdown): the writer thread is gone; counted.
        state.lost++;
        return;
      }
      buffer.push(record);
      if (buffer.length > maxBuffered) {
        buffer.shift();
        state.lost++;
      }
      if (timer === undefined) {
        timer = setTimeout(() => {
          timer = undefined;
          send();
        }, interval);
        timer.unref();
      }
    },
    describe(header: LedgerHeader) {
      const h = storedHeader(header);
      if (alive) worker.postMessage({ type: 'header', header: { writtenAt: h.writtenAt, json: JSON.stringify(h) } });
    },
    flush: () => flush(),
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      unhook();
      await flush(closeTimeoutMs);
      if (alive) {
        worker.ref();
        const last = await new Promise<{ written: number; dropped: number; pending: number }>((resolve) => {
          closedResult = resolve;
          worker.postMessage({ type: 'close' });
        });
        Object.assign(state, { written: last.written, dropped: last.dropped + last.pending });
        await worker.terminate();
      }
    },
    get written() {
      return state.written;
    },
    get dropped() {
      return state.dropped + state.lost;
    },
  };
}
