import { parseHeader } from './header.js';
import { parseRecord } from './parse-record.js';
import { emptyCounts, visitRecord, type LedgerVisitor, type ReadCounts, type TimeWindow } from './read-types.js';
import { findSqliteDriver, sqliteDriverProblem, sqliteInstallHint } from './sqlite-driver.js';
import { fromRow } from './sqlite-schema.js';

interface ReadDatabase {
  prepare(sql: string): { iterate(...params: unknown[]): IterableIterator<Record<string, unknown>> };
  close(): void;
}

/** Opens better-sqlite3 (an optional dependency) read-only, with a message that says what to install. */
export async function openReadOnly(path: string): Promise<ReadDatabase> {
  let Database: new (p: string, o: { readonly: boolean; fileMustExist: boolean }) => ReadDatabase;
  const problem = sqliteDriverProblem(process.versions.node, findSqliteDriver()?.version);
  if (problem !== undefined) throw new Error(`cannot read ${path}: ${problem}`);
  try {
    Database = ((await import('better-sqlite3')) as unknown as { default: typeof Database }).default;
  } catch {
    throw new Error(`reading ${path} needs the better-sqlite3 package: ${sqliteInstallHint()}`);
  }
  return new Database(path, { readonly: true, fileMustExist: true });
}

const hasTable = (db: ReadDatabase, name: string): boolean => [...db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?").iterate(name)].length > 0;

/** Streams a SQLite ledger's rows (time window applied in SQL) and its headers. */
export async function readSqliteFile(path: string, window: TimeWindow, visitor: LedgerVisitor): Promise<ReadCounts> {
  const counts = emptyCounts();
  const db = await openReadOnly(path);
  try {
    if (!hasTable(db, 'usage')) throw new Error(`${path} is not a bedrock-finops ledger (no usage table)`);
    if (hasTable(db, 'ledger_header'))
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
    const sql = `SELECT * FROM usage${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at`;
    for (const row of db.prepare(sql).iterate(...params)) {
      const r = parseRecord(fromRow(row));
      if (r === 'mistyped') counts.mistyped++;
      else visitRecord(r, window, visitor, counts);
    }
    // Nothing in the window: tell an empty ledger from one whose records all lie outside it.
    if (counts.records === 0 && where.length > 0) for (const row of db.prepare('SELECT COUNT(*) AS n FROM usage').iterate()) counts.outside = Number(row.n);
    return counts;
  } finally {
    db.close();
  }
}
