import type { UsageRecord } from '../record.js';
import { isSqlitePath, LedgerInputError, resolveInputs, type LedgerInput } from './inputs.js';
import { readJsonlFile } from './read-jsonl.js';
import { readSqliteFile } from './read-sqlite.js';
import { addCounts, emptyCounts, type LedgerVisitor, type ReadCounts, type TimeWindow } from './read-types.js';

/** What {@link readLedgers} read. */
export interface LedgerReadSummary extends ReadCounts {
  /** Every file read, in order. */
  readonly files: readonly string[];
}

const readFile = (file: string, window: TimeWindow, visitor: LedgerVisitor): Promise<ReadCounts> =>
  isSqlitePath(file) ? readSqliteFile(file, window, visitor) : readJsonlFile(file, window, visitor);

/**
 * Streams every record of several ledgers (JSON Lines, gzipped JSON Lines, SQLite; globs; a
 * JSON Lines path brings its rotated files) to `visitor`, one at a time: memory does not grow
 * with the ledgers' size. An input that is missing, a directory, unreadable or holds no record
 * throws a {@link LedgerInputError} naming it. Torn and mistyped lines are skipped and counted.
 */
export async function readLedgers(args: readonly string[] | readonly LedgerInput[], visitor: LedgerVisitor, window: TimeWindow = {}): Promise<LedgerReadSummary> {
  const inputs = typeof args[0] === 'string' || args.length === 0 ? await resolveInputs(args as readonly string[]) : (args as readonly LedgerInput[]);
  const total = emptyCounts();
  const files: string[] = [];
  for (const input of inputs) {
    const counts = emptyCounts();
    for (const file of input.files) {
      try {
        addCounts(counts, await readFile(file, window, visitor));
      } catch (error) {
        if (error instanceof LedgerInputError) throw error;
        throw new LedgerInputError(`${file}: ${error instanceof Error ? error.message : String(error)}`);
      }
      files.push(file);
    }
    // An input whose files were all named by an earlier one (a glob over the same directory) adds nothing and is fine.
    if (input.files.length > 0 && counts.records + counts.outside === 0) {
      const skipped = counts.torn + counts.mistyped;
      throw new LedgerInputError(`${input.arg}: no usage records${skipped > 0 ? ` (${skipped} unreadable lines)` : ''}`);
    }
    addCounts(total, counts);
  }
  return { ...total, files };
}

/**
 * Reads one ledger back into memory: a JSON Lines file (with its rotated files, oldest first) or
 * a SQLite file (`.db`, `.sqlite`). For large ledgers use {@link readLedgers}, which streams.
 */
export async function readLedger(path: string): Promise<{ records: UsageRecord[]; skipped: number }> {
  const records: UsageRecord[] = [];
  const s = await readLedgers([path], { record: (r) => records.push(r) });
  return { records, skipped: s.torn + s.mistyped };
}
