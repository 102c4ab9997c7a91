import { resolve } from 'node:path';
import type { UsageRecord } from '../record.js';
import { isSqlitePath, LedgerInputError, resolveInputs, type LedgerInput } from './inputs.js';
import { isRotatedOf } from './jsonl-files.js';
import { byKey, keyOf, problem, readFamily, readKey, type Context } from './read-family.js';
import { readSqliteFile } from './read-sqlite.js';
import { RecordIds } from './record-ids.js';
import { addCounts, emptyCounts, isLoss, type LedgerFileProblem, type LedgerVisitor, type ReadCounts, type TimeWindow } from './read-types.js';

/** What {@link readLedgers} read. */
export interface LedgerReadSummary extends ReadCounts {
  /** Every file read, in order. */
  readonly files: readonly string[];
  /** Files not counted whole (torn or mistyped lines, damage) or deleted while read. */
  readonly problems: readonly LedgerFileProblem[];
  /** Whether records the ledgers hold are missing from the counts: a torn or mistyped line, a damaged file. */
  readonly partial: boolean;
}


async function readInput(ctx: Context, input: LedgerInput, counts: ReadCounts): Promise<void> {
  const entries = byKey(input.files);
  const roots = new Set(entries.filter((e) => e.plain && !isSqlitePath(e.key)).map((e) => e.key));
  const ownerOf = (key: string): string | undefined => [...roots].find((r) => r !== key && isRotatedOf(r, key));
  for (const e of entries) {
    if (ctx.done.has(resolve(e.key))) continue;
    if (isSqlitePath(e.key)) {
      ctx.done.add(resolve(e.key));
      const { counts: c, damage } = await readSqliteFile(e.key, ctx.window, ctx.visitor);
      addCounts(counts, c);
      ctx.files.push(e.key);
      if (c.torn + c.mistyped > 0 || damage !== undefined) Object.assign(problem(ctx, e.key), { records: c.records + c.outside, torn: c.torn, mistyped: c.mistyped, ...(damage === undefined ? {} : { damage }) });
    } else if (roots.has(e.key) && ownerOf(e.key) === undefined) {
      await readFamily(
        ctx,
        e.key,
        entries.filter((m) => ownerOf(m.key) === e.key),
        counts,
      );
    } else if (ownerOf(e.key) === undefined) await readKey(ctx, e.key, !e.plain, counts);
  }
}

/**
 * Streams every record of several ledgers (JSON Lines, gzipped JSON Lines, SQLite; globs; a
 * JSON Lines path brings its rotated files) to `visitor`, one at a time: memory does not grow
 * with the ledgers' size. An input that is missing, a directory, unreadable or holds no record
 * throws a {@link LedgerInputError} naming it. Torn and mistyped lines are skipped and counted;
 * a damaged file (a truncated or corrupt `.gz`; a SQLite file damaged, locked, no database or
 * without the usage table) is read as far as it can be: each is listed in `problems`, and
 * `partial` says records were lost. An input nothing could be read from fails the read only when
 * no other input held a record. A ledger a writer rotates, compresses or
 * prunes while it is read is counted once: no file missed, none read twice.
 */
export async function readLedgers(args: readonly string[] | readonly LedgerInput[], visitor: LedgerVisitor, window: TimeWindow = {}): Promise<LedgerReadSummary> {
  const inputs = typeof args[0] === 'string' || args.length === 0 ? await resolveInputs(args as readonly string[]) : (args as readonly LedgerInput[]);
  const ctx: Context = { window, visitor, done: new Set(), files: [], problems: new Map(), records: new Map(), ids: new RecordIds() };
  const total = emptyCounts();
  // An input that could not be read (damaged, locked, no database) is a problem of the report, not
  // its end, when other inputs hold records: it fails the read only when nothing at all was read.
  let unread: LedgerInputError | undefined;
  for (const input of inputs) {
    const counts = emptyCounts();
    const before = new Set(ctx.problems.keys());
    const doneBefore = new Set(ctx.done);
    try {
      await readInput(ctx, input, counts);
    } catch (error) {
      if (error instanceof LedgerInputError) throw error;
      throw new LedgerInputError(`${input.arg}: ${error instanceof Error ? error.message : String(error)}`);
    }
    // An input whose files were all read for an earlier one (a glob over the same directory) adds nothing and is fine.
    const earlier = input.files.every((f) => doneBefore.has(resolve(keyOf(f))));
    if (!earlier && counts.records + counts.outside + counts.duplicates === 0) {
      const skipped = counts.torn + counts.mistyped;
      const damage = [...ctx.problems.values()].filter((p) => !before.has(p.file) && p.damage !== undefined).map((p) => `${p.file}: ${p.damage ?? ''}`);
      const why = [...(skipped > 0 ? [`${skipped} unreadable lines`] : []), ...(damage.length > 0 ? [`damaged: ${damage.join('; ')}`] : [])];
      const error = new LedgerInputError(`${input.arg}: no usage records${why.length > 0 ? ` (${why.join(', ')})` : ''}`);
      if (damage.length === 0) throw error;
      unread ??= error;
    }
    addCounts(total, counts);
  }
  // Torn lines naming a record (or a header): a retried write when a whole copy of it was read, before or after them, else torn (lost).
  for (const h of ctx.ids.heldLines()) {
    if (h.resolved) {
      total.retried++;
      continue;
    }
    total.torn++;
    const p = problem(ctx, h.file ?? '');
    p.torn++;
    p.tornBytes += h.bytes;
    if (h.header === true) p.tornHeaders = (p.tornHeaders ?? 0) + 1;
  }
  if (unread !== undefined && total.records + total.outside === 0) throw unread;
  const problems = [...ctx.problems.values()].map((p) => ({ ...p, records: p.records + (ctx.records.get(p.file) ?? 0) }));
  return { ...total, files: ctx.files, problems, partial: problems.some(isLoss) };
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
