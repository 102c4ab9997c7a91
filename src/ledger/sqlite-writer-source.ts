/**
 * The SQLite writer thread's program, run with `new Worker(source, { eval: true })`. It is plain
 * JavaScript in a string, not a module file, so it runs the same from the TypeScript sources
 * (tests, tsx) and from the built package without a loader or a path to a `.js` file; it needs
 * nothing from the module system (`process.getBuiltinModule`, Node ≥ 20.16), so it also runs when
 * the application passes `--input-type=module`.
 *
 * Messages in: `rows` (append to the queue), `header`, `flush` (answer `flushed` once the queue
 * is empty), `exit` (write now, then signal the shared flag: the main thread is waiting
 * synchronously in its `exit` handler), `close`. Messages out: `opened`/`open-error`, `status`
 * (written and dropped counts), `error` (first failure, for diag), `flushed`.
 *
 * A locked database (another connection holding the write lock) only delays this thread: rows
 * wait in its queue (bounded by maxBuffered, oldest dropped and counted) and are retried.
 */
export const SQLITE_WRITER_SOURCE = String.raw`
'use strict';
// process.getBuiltinModule works whether Node runs this string as CommonJS or (--input-type=module) as ESM.
const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
const Database = process.getBuiltinModule('node:module').createRequire(workerData.driver)(workerData.driver);
const { path, schema, columns, insertSql, maxBuffered, busyTimeoutMs, retryMs } = workerData;
let db, insertMany, insertHeader;
let queue = [];
let headers = [];
let written = 0, dropped = 0, reported = false, retryTimer;
const flushWaiters = [];

function isBusy(e) { return e && (e.code === 'SQLITE_BUSY' || e.code === 'SQLITE_LOCKED' || /locked|busy/i.test(String(e.message))); }
function open() {
  if (db !== undefined) return;
  const d = new Database(path);
  try {
    d.pragma('busy_timeout = ' + busyTimeoutMs);
    d.pragma('journal_mode = WAL');
    for (const s of schema) d.exec(s);
    // A ledger written by an older version lacks newer columns: add them (nothing is rewritten).
    const have = new Set(d.prepare('PRAGMA table_info(usage)').all().map((c) => c.name));
    for (const [name, type] of columns) if (!have.has(name)) d.exec('ALTER TABLE usage ADD COLUMN ' + name + ' ' + type);
    const insert = d.prepare(insertSql);
    insertMany = d.transaction((rows) => { for (const r of rows) insert.run(r); });
    const h = d.prepare('INSERT INTO ledger_header (written_at, header) VALUES (?, ?)');
    insertHeader = d.transaction((hs) => { for (const x of hs) h.run(x.writtenAt, x.json); });
    db = d;
  } catch (e) { d.close(); throw e; }
}
function report(e) {
  if (reported) return;
  reported = true;
  parentPort.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) });
}
function status() { parentPort.postMessage({ type: 'status', written, dropped }); }
function answerFlushes() { while (flushWaiters.length > 0) parentPort.postMessage({ type: 'flushed', id: flushWaiters.shift() }); }
function write() {
  clearTimeout(retryTimer);
  retryTimer = undefined;
  if (queue.length === 0 && headers.length === 0) { answerFlushes(); return true; }
  try {
    open();
    if (headers.length > 0) { insertHeader(headers); headers = []; }
    const batch = queue;
    if (batch.length > 0) { insertMany(batch); queue = []; written += batch.length; }
    status();
    answerFlushes();
    return true;
  } catch (e) {
    if (!isBusy(e)) {
      // Not a lock: the rows cannot be written (disk full, read-only file); drop them, counted.
      dropped += queue.length; queue = [];
      report(e); status(); answerFlushes();
      return false;
    }
    report(e);
    retryTimer = setTimeout(write, retryMs);
    return false;
  }
}
function enqueue(rows) {
  for (const r of rows) queue.push(r);
  const excess = queue.length - maxBuffered;
  if (excess > 0) { queue.splice(0, excess); dropped += excess; status(); }
}
parentPort.on('message', (m) => {
  if (m.type === 'rows') { enqueue(m.rows); if (retryTimer === undefined) write(); }
  else if (m.type === 'header') { headers.push(m.header); if (retryTimer === undefined) write(); }
  else if (m.type === 'flush') { flushWaiters.push(m.id); if (retryTimer === undefined) write(); }
  else if (m.type === 'exit') {
    enqueue(m.rows);
    write();
    // The process is exiting: close now, so no statement is finalised after this thread's
    // environment is gone (Node 24 aborts the process on that).
    if (db !== undefined) { try { db.close(); } catch {} db = undefined; }
    const flag = new Int32Array(m.signal);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  } else if (m.type === 'close') {
    write();
    clearTimeout(retryTimer);
    if (db !== undefined) { db.close(); db = undefined; }
    parentPort.postMessage({ type: 'closed', written, dropped, pending: queue.length });
  }
});
try { open(); parentPort.postMessage({ type: 'opened' }); }
catch (e) { if (isBusy(e)) parentPort.postMessage({ type: 'opened' }); else parentPort.postMessage({ type: 'open-error', message: e instanceof Error ? e.message : String(e) }); }
`;
