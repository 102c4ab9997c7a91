import { parseHeader } from './header.js';
import { parseRecord } from './parse-record.js';
import { emptyCounts, visitRecord, type LedgerVisitor, type ReadCounts, type TimeWindow } from './read-types.js';
import { findSqliteDriver, sqliteDriverProblem, sqliteInstallHint } from './sqlite-driver.js';
import { sqliteCut, type SqliteCut } from './sqlite-file-header.js';
import { fromRow } from './sqlite-schema.js';
import { isSqliteError, scanUsage, sqliteMessage, type ReadDatabase, type ScanDamage } from './sqlite-scan.js';

/** How long the reader waits for another connection's lock before it names the file locked. */
const BUSY_TIMEOUT_MS = 5_000;

type DatabaseClass = new (p: string, o: { readonly: boolean; fileMustExist: boolean; timeout: number }) => ReadDatabase;

/** better-sqlite3 (an optional dependency), with a message that says what to install. */
async function driver(path: string): Promise<DatabaseClass> {
  const problem = sqliteDriverProblem(process.versions.node, findSqliteDriver()?.version);
  if (problem !== undefined) throw new Error(`cannot read ${path}: ${problem}`);
  try {
    return ((await import('better-sqlite3')) as unknown as { default: DatabaseClass }).default;
  } catch {
    throw new Error(`reading ${path} needs the better-sqlite3 package: ${sqliteInstallHint()}`);
  }
}

/** Opens `path` read-only, set to read as much of a damaged file as SQLite can reach. */
function openReadOnly(Database: DatabaseClass, path: string): ReadDatabase {
  const db = new Database(path, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
  // A file shorter than its header says (a partial copy) is refused whole unless the schema is
  // "writable"; on a read-only connection that writes nothing. A hostile file's schema runs no functions.
  db.unsafeMode(true);
  db.pragma('writable_schema = ON');
  db.pragma('trusted_schema = OFF');
  db.pragma('cell_size_check = ON');
  return db;
}

function describeFailure(cut: SqliteCut, e: { message: string; code: string }): string {
  if (e.code === 'SQLITE_BUSY' || e.code === 'SQLITE_LOCKED') return `${sqliteMessage(e)}: another connection held it past the ${BUSY_TIMEOUT_MS / 1000} s busy timeout`;
  return cut.truncated === undefined ? sqliteMessage(e) : `${sqliteMessage(e)}; ${cut.truncated}`;
}

function describeScan(cut: SqliteCut, d: ScanDamage, records: number): string {
  const parts = d.error === undefined ? (cut.truncated === undefined ? [] : [cut.truncated]) : [describeFailure(cut, d.error)];
  for (const [from, to] of d.gaps) parts.push(`rowids ${from}–${to} could not be read`);
  if (d.stoppedAfter !== undefined) parts.push(d.stoppedAfter === 0 && records === 0 ? 'nothing read' : `rows after rowid ${d.stoppedAfter} could not be read`);
  if (d.garbled > 0) parts.push(`${d.garbled} rows on damaged pages not counted (garbled, or cut by the truncation)`);
  return parts.join('; ');
}

/** What reading one SQLite ledger found. */
export interface SqliteRead {
  readonly counts: ReadCounts;
  /** Why some or all of it could not be read (a damaged or locked file, a database that is no ledger). */
  readonly damage?: string;
}

const hasTable = (db: ReadDatabase, name: string): boolean => [...db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?").iterate(name)].length > 0;

function readHeaders(db: ReadDatabase, visitor: LedgerVisitor, counts: ReadCounts): void {
  if (!hasTable(db, 'ledger_header')) return;
  for (const row of db.prepare('SELECT header FROM ledger_header ORDER BY written_at').iterate()) {
    let h;
    try {
      h = parseHeader(JSON.parse(String(row.header)));
    } catch {
      h = undefined;
    }
    if (h === undefined) counts.torn++;
    else {
      counts.headers++;
      visitor.header?.(h);
    }
  }
}

/**
 * Streams a SQLite ledger's rows (time window applied in SQL) and its headers. Never throws for
 * what the file holds (only when the driver is missing): a file that is no database, a database
 * without the usage table, one locked past the busy timeout, or damaged pages end in `damage`,
 * after every row SQLite could still reach was visited.
 */
export async function readSqliteFile(path: string, window: TimeWindow, visitor: LedgerVisitor): Promise<SqliteRead> {
  const Database = await driver(path);
  const counts = emptyCounts();
  const cut = sqliteCut(path);
  const failed = (e: unknown): SqliteRead => {
    if (!isSqliteError(e)) throw e;
    return { counts, damage: `${describeFailure(cut, e)}; nothing read` };
  };
  let db: ReadDatabase;
  try {
    db = openReadOnly(Database, path);
  } catch (e) {
    return failed(e);
  }
  try {
    try {
      if (!hasTable(db, 'usage')) return { counts, damage: 'not a bedrock-finops ledger (no usage table); nothing read' };
    } catch (e) {
      return failed(e);
    }
    let headerDamage: string | undefined;
    try {
      readHeaders(db, visitor, counts);
    } catch (e) {
      if (!isSqliteError(e)) throw e;
      headerDamage = `ledger_header table: ${describeFailure(cut, e)}`;
    }
    const where: string[] = [];
    const params: string[] = [];
    if (window.since !== undefined) {
      where.push('started_at >= ?');
      params.push(new Date(window.since).toISOString());
    }
    if (window.until !== undefined) {
      where.push('started_at < ?');
      params.push(new Date(window.until).toISOString());
    }
    // SELECT *: a ledger written by an older version lacks newer columns (they read as absent).
    const scan = scanUsage(db, where, params, cut.cutRowids, (row) => {
      const r = parseRecord(fromRow(row));
      if (r === 'mistyped') counts.mistyped++;
      else visitRecord(r, window, visitor, counts);
    });
    // Nothing in the window: tell an empty ledger from one whose records all lie outside it.
    if (counts.records === 0 && where.length > 0 && scan === undefined) for (const row of db.prepare('SELECT COUNT(*) AS n FROM usage').iterate()) counts.outside = Number(row.n);
    const damage = [...(headerDamage === undefined ? [] : [headerDamage]), ...(scan === undefined ? [] : [describeScan(cut, scan, counts.records + counts.outside + counts.mistyped)])];
    return damage.length === 0 ? { counts } : { counts, damage: damage.join('; ') };
  } finally {
    db.close();
  }
}
