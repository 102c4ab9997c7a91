/** The part of a better-sqlite3 connection the reader uses. */
export interface ReadDatabase {
  prepare(sql: string): { iterate(...params: unknown[]): IterableIterator<Record<string, unknown>>; get(...params: unknown[]): unknown };
  pragma(source: string): unknown;
  unsafeMode(on: boolean): unknown;
  close(): void;
}

/** What a scan of the usage table could not read. */
export interface ScanDamage {
  /** SQLite's first error, e.g. `database disk image is malformed` and `SQLITE_CORRUPT` (none when only rows were garbled). */
  readonly error?: { readonly message: string; readonly code: string };
  /** Rowid ranges skipped over (the damaged pages; the scan went on after each). */
  readonly gaps: readonly (readonly [number, number])[];
  /** Set when the scan could not go on: the rows after this rowid (0: all) are unread. */
  readonly stoppedAfter?: number;
  /** Rows SQLite returned out of rowid order or past the table's last rowid (cells of a garbled page), or in `exclude`: not visited. */
  readonly garbled: number;
}

/** Whether `e` is SQLite's own error (the file), not the visitor's. */
export const isSqliteError = (e: unknown): e is Error & { code: string } => {
  const code = e instanceof Error ? (e as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('SQLITE_');
};

export const sqliteMessage = (e: { message: string; code: string }): string => `${e.message} (${e.code})`;

/** Damaged regions skipped before the scan gives up: each costs at most ~110 one-row probes. */
const MAX_GAPS = 1000;

const rowidOf = (row: Record<string, unknown>): number | undefined => (typeof row.__rowid === 'number' && Number.isSafeInteger(row.__rowid) ? row.__rowid : undefined);

/**
 * Calls `visit` with every row of the usage table SQLite can reach (in rowid order, each at most
 * once, `where` applied), going on past damaged pages where the table's b-tree still leads beyond
 * them: on corruption the scan probes for the first rowid whose row reads again (doubling, then
 * bisecting) and resumes there, naming the rowids it skipped. Rows SQLite returns out of rowid
 * order (cells of a garbled page) and rows in `exclude` are not visited. Returns what could not be read, or undefined.
 */
export function scanUsage(db: ReadDatabase, where: readonly string[], params: readonly unknown[], exclude: ReadonlySet<number>, visit: (row: Record<string, unknown>) => void): ScanDamage | undefined {
  // One row past `after` (every column: a damaged overflow page fails here too); throws on damage.
  const probe = db.prepare('SELECT * FROM usage NOT INDEXED WHERE rowid > ? ORDER BY rowid LIMIT 1');
  const readsAfter = (x: number): boolean => {
    try {
      probe.get(x);
      return true;
    } catch (e) {
      if (isSqliteError(e)) return false;
      throw e;
    }
  };
  const gaps: [number, number][] = [];
  let garbled = 0;
  let max: number | undefined;
  try {
    max = rowidOf(db.prepare('SELECT max(rowid) AS __rowid FROM usage').get() as Record<string, unknown>);
  } catch (e) {
    if (!isSqliteError(e)) throw e;
  }
  let last: number | undefined;
  let indexed = true;
  let error: { message: string; code: string } | undefined;
  for (;;) {
    const conditions = [...(last === undefined ? [] : ['rowid > ?']), ...where];
    const sql = `SELECT rowid AS __rowid, * FROM usage${indexed ? '' : ' NOT INDEXED'}${conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : ''} ORDER BY rowid`;
    try {
      for (const row of db.prepare(sql).iterate(...(last === undefined ? [] : [last]), ...params)) {
        const id = rowidOf(row);
        if (id === undefined || (last !== undefined && id <= last) || (max !== undefined && id > max)) {
          garbled++;
          continue;
        }
        last = id;
        if (exclude.has(id)) {
          garbled++;
          continue;
        }
        delete row.__rowid;
        visit(row);
      }
      return error === undefined && garbled === 0 ? undefined : { ...(error === undefined ? {} : { error }), gaps, garbled };
    } catch (e) {
      if (!isSqliteError(e)) throw e;
      error ??= { message: e.message, code: e.code };
      // The index may be what is damaged: read the table alone, from where the rows stopped.
      if (indexed) {
        indexed = false;
        continue;
      }
      const after = last ?? 0;
      const next = e.code === 'SQLITE_CORRUPT' && gaps.length < MAX_GAPS ? firstReadable(after, readsAfter) : undefined;
      if (next === undefined) return { error, gaps, garbled, stoppedAfter: after };
      gaps.push([after + 1, next]);
      last = next;
    }
  }
}

/** The least `x > after` such that the rows past `x` read (undefined when none does). */
function firstReadable(after: number, readsAfter: (x: number) => boolean): number | undefined {
  let lo = after;
  let step = 1;
  for (; !readsAfter(after + step); step *= 2) {
    lo = after + step;
    if (after + 2 * step > Number.MAX_SAFE_INTEGER) return undefined;
  }
  let hi = after + step;
  while (hi - lo > 1) {
    const mid: number = lo + Math.floor((hi - lo) / 2);
    if (readsAfter(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}
