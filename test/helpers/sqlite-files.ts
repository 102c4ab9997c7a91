import { copyFileSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { SQLITE_INSERT, SQLITE_SCHEMA, toRow } from '../../src/ledger/sqlite-schema.js';
import { usageRecord } from './usage-records.js';

/** A SQLite ledger at `path` holding records `r-<from>` … `r-<to - 1>` (one per second from `t0`), as the ledger's writer lays it out (WAL, then closed). */
export function writeSqliteLedger(path: string, from: number, to: number, t0: number, journal: 'wal' | 'delete' = 'wal'): void {
  const db = new Database(path);
  db.pragma(`journal_mode = ${journal}`);
  for (const s of SQLITE_SCHEMA) db.exec(s);
  const insert = db.prepare(SQLITE_INSERT);
  db.transaction(() => {
    for (let i = from; i < to; i++) insert.run(toRow(usageRecord({ startedAt: t0 + i * 1000, requestId: `r-${i}`, costUsd: 0.001, attribution: { team: 'search' } })));
  })();
  db.close();
}

/** A copy of `path` cut to `fraction` of its size (a partial copy, a disk that filled). */
export function truncatedCopy(path: string, to: string, fraction: number): void {
  copyFileSync(path, to);
  truncateSync(to, Math.floor(statSync(path).size * fraction));
}

/** A copy of `path` with `bytes` bytes of garbage from `at` (a bad sector, a stray write). */
export function garbledCopy(path: string, to: string, at: number, bytes: number): void {
  const b = Buffer.from(readFileSync(path));
  b.fill(0xa5, at, at + bytes);
  writeFileSync(to, b);
}
