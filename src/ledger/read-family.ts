import { closeSync, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { LedgerInputError } from './inputs.js';
import { rotatedFiles } from './jsonl-files.js';
import { gzipStartsWith, readJsonl, type JsonlRead } from './read-jsonl.js';
import type { RecordIds } from './record-ids.js';
import { addCounts, type LedgerFileProblem, type LedgerVisitor, type ReadCounts, type TimeWindow } from './read-types.js';

export type MutableProblem = { -readonly [K in keyof LedgerFileProblem]: LedgerFileProblem[K] };

export interface Context {
  readonly window: TimeWindow;
  readonly visitor: LedgerVisitor;
  /** Files read or accounted for, by the resolved name of their uncompressed form (`x.jsonl` for `x.jsonl.gz`). */
  readonly done: Set<string>;
  readonly files: string[];
  readonly problems: Map<string, MutableProblem>;
  /** Records read per file (inside and outside the window), for the problem entries. */
  readonly records: Map<string, number>;
  /** Record ids read, and torn lines held until a whole copy of their record is read. */
  readonly ids: RecordIds;
}

export const keyOf = (file: string): string => (file.endsWith('.gz') ? file.slice(0, -3) : file);

/** Opens `file` for reading; `undefined` when it is gone (renamed, compressed, deleted since it was listed). */
function open(file: string): number | undefined {
  try {
    return openSync(file, 'r');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    throw new LedgerInputError(`${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function problem(ctx: Context, file: string): MutableProblem {
  let p = ctx.problems.get(file);
  if (p === undefined) ctx.problems.set(file, (p = { file, records: 0, torn: 0, tornBytes: 0, mistyped: 0 }));
  return p;
}

/** Adds one read of `file` to the counts, and to its problem entry when it lost something. */
function account(ctx: Context, file: string, fd: number, read: JsonlRead, counts: ReadCounts): void {
  addCounts(counts, read.counts);
  for (const h of read.held) h.file = file;
  if (!ctx.files.includes(file)) ctx.files.push(file);
  ctx.records.set(file, (ctx.records.get(file) ?? 0) + read.counts.records + read.counts.outside);
  if (read.counts.torn + read.counts.mistyped === 0 && read.damage === undefined) return;
  const q = problem(ctx, file);
  q.torn += read.counts.torn;
  q.tornBytes += read.tornBytes;
  q.mistyped += read.counts.mistyped;
  if (read.damage !== undefined) {
    const size = fstatSync(fd).size;
    q.damage = read.damage;
    q.size = size;
    q.unreadBytes = Math.max(0, size - (read.compressedRead ?? read.end + read.tail));
  }
}

/** Reads a whole file that no writer appends to (rotated, compressed, or given as is). */
async function readWhole(ctx: Context, file: string, fd: number, counts: ReadCounts): Promise<void> {
  const read = await readJsonl({ fd, gzip: file.endsWith('.gz'), tail: 'torn' }, ctx.window, ctx.visitor, ctx.ids);
  account(ctx, file, fd, read, counts);
}

/**
 * Reads the file of `key` under its plain name or, when that is gone (compressed since it was
 * listed) or only the compressed one was given, as `key.gz`. Neither there: deleted by a retention.
 */
export async function readKey(ctx: Context, key: string, gzipOnly: boolean, counts: ReadCounts): Promise<void> {
  ctx.done.add(resolve(key));
  for (const file of gzipOnly ? [`${key}.gz`] : [key, `${key}.gz`]) {
    const fd = open(file);
    if (fd === undefined) continue;
    try {
      await readWhole(ctx, file, fd, counts);
    } finally {
      closeSync(fd);
    }
    return;
  }
  problem(ctx, gzipOnly ? `${key}.gz` : key).vanished = true;
}

interface KeyEntry {
  key: string;
  plain: boolean;
}

/** Files by their uncompressed name, in order of first appearance (a file and its compressed copy are one). */
export function byKey(files: readonly string[]): KeyEntry[] {
  const out = new Map<string, KeyEntry>();
  for (const f of files) {
    const key = keyOf(f);
    const e = out.get(key) ?? { key, plain: false };
    if (f === key) e.plain = true;
    out.set(key, e);
  }
  return [...out.values()];
}

/**
 * Whether `entry`, a rotated file that appeared while the active file (open at `fd`, `st`) was
 * read, is that same file: renamed by a rotation (same inode), or renamed and compressed (the
 * active file is unlinked and the compressed file holds its bytes).
 */
async function isActiveRotated(entry: KeyEntry, fd: number, st: Stats): Promise<boolean> {
  if (entry.plain) {
    try {
      const s = statSync(entry.key);
      return s.ino === st.ino && s.dev === st.dev;
    } catch {
      // Compressed since the listing: compare with the compressed file.
    }
  }
  const now = fstatSync(fd);
  // Still linked (at the active path, or under a rotated name of its own): not this one. Empty: nothing to read twice.
  if (now.nlink !== 0 || now.size === 0) return false;
  const gz = open(`${entry.key}.gz`);
  if (gz === undefined) return false;
  try {
    return await gzipStartsWith(gz, fd, now.size);
  } finally {
    closeSync(gz);
  }
}

/**
 * One JSON Lines ledger: its rotated files (as listed), then the active file, then whatever a
 * rotation renamed while the report ran. Each file is counted once whatever happened meanwhile:
 * a rotated file compressed since the listing is read under its `.gz` name; the active file,
 * held open, is read to its end even when a rotation renamed (or renamed and compressed) it, and
 * its rotated name is then not read again; a file rotated between the listing and the opening of
 * the active file is found by listing again.
 */
export async function readFamily(ctx: Context, active: string, members: readonly KeyEntry[], counts: ReadCounts): Promise<void> {
  for (const m of members) if (!ctx.done.has(resolve(m.key))) await readKey(ctx, m.key, !m.plain, counts);
  ctx.done.add(resolve(active));
  // A rotation renamed the active file while it was read: the file now at the path holds what was
  // written since, read in turn (a bounded number of times: a writer rotating faster than the
  // report reads leaves the newest records to the next report; the view stays a consistent one).
  for (let round = 0; round < MAX_ACTIVE_ROUNDS; round++) if (!(await readActive(ctx, active, counts))) return;
}

const MAX_ACTIVE_ROUNDS = 64;

/** Whether `file` starts with the bytes `head` (a copy of a file whose start was read). Never throws. */
function startsWith(file: string, head: Buffer): boolean {
  const fd = open(file);
  if (fd === undefined) return false;
  try {
    const b = Buffer.alloc(head.length);
    return readSync(fd, b, 0, b.length, 0) === b.length && b.equals(head);
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/** Reads `file` from `start` (its part a read of the file it copies did not reach). */
async function readFrom(ctx: Context, file: string, start: number, counts: ReadCounts): Promise<void> {
  ctx.done.add(resolve(file));
  const fd = open(file);
  if (fd === undefined) return;
  try {
    account(ctx, file, fd, await readJsonl({ fd, gzip: false, start, tail: 'torn' }, ctx.window, ctx.visitor, ctx.ids), counts);
  } finally {
    closeSync(fd);
  }
}

/** Reads the active file and the rotations that appeared meanwhile; true when the file read was renamed by a rotation. */
async function readActive(ctx: Context, active: string, counts: ReadCounts): Promise<boolean> {
  const fd = open(active);
  try {
    let first: JsonlRead | undefined;
    let st: Stats | undefined;
    if (fd !== undefined) {
      st = fstatSync(fd);
      first = await readJsonl({ fd, gzip: false, tail: 'pending' }, ctx.window, ctx.visitor, ctx.ids);
      account(ctx, active, fd, first, counts);
    }
    // Truncated while read (logrotate's copytruncate, `: > usage.jsonl`): the file now holds only
    // what was written since, and a copy of what was read may have appeared beside it.
    const shrank = fd !== undefined && first !== undefined && fstatSync(fd).size < first.end + first.tail;
    if (shrank) problem(ctx, active).truncatedWhileRead = true;
    let renamed = false;
    let copied = false;
    for (const entry of byKey(rotatedFiles(active).map((f) => f.file))) {
      if (ctx.done.has(resolve(entry.key))) continue;
      if (fd !== undefined && st !== undefined && !renamed && (await isActiveRotated(entry, fd, st))) {
        renamed = true;
        ctx.done.add(resolve(entry.key));
        continue;
      }
      if (shrank && !copied && first?.head !== undefined && entry.plain && startsWith(entry.key, first.head)) {
        // The copy: what the active file held when it was read is counted; read on from there.
        copied = true;
        await readFrom(ctx, entry.key, first.end, counts);
        continue;
      }
      await readKey(ctx, entry.key, !entry.plain, counts);
    }
    if (fd !== undefined && first !== undefined) {
      // What was appended since (a rotation's last batch, the rest of a line that was being written
      // when the first read reached the end; after a truncation, all the file holds): only a line still unfinished now is torn.
      const rest = await readJsonl({ fd, gzip: false, start: shrank ? 0 : first.end, tail: 'torn' }, ctx.window, ctx.visitor, ctx.ids);
      account(ctx, active, fd, rest, counts);
      return renamed;
    }
    // A rotated file given as the ledger, compressed since it was listed.
    const gz = open(`${active}.gz`);
    if (gz !== undefined)
      try {
        await readWhole(ctx, `${active}.gz`, gz, counts);
      } finally {
        closeSync(gz);
      }
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

