import type { UsageRecord } from '../record.js';
import type { StoredHeader } from './header.js';

/** Receives what a ledger holds, one entry at a time (nothing is kept by the reader). */
export interface LedgerVisitor {
  record(record: UsageRecord): void;
  header?(header: StoredHeader): void;
}

/** Records to keep: `since` inclusive, `until` exclusive, epoch ms. */
export interface TimeWindow {
  readonly since?: number;
  readonly until?: number;
}

/** What reading one input found. */
export interface ReadCounts {
  /** Records handed to the visitor (inside the time window). */
  records: number;
  /** Records outside the time window. */
  outside: number;
  /** Lines that are not JSON (a torn write, a truncated file). */
  torn: number;
  /** Well-formed lines or rows whose fields have the wrong types. */
  mistyped: number;
  headers: number;
  /** Torn lines a whole copy of the same record (same id, the same bytes and more) follows: a write that failed part-way and was retried. Not a loss. */
  retried: number;
  /** Records read a second time (same id): a write repeated after a rotation, a file given twice. Counted once. */
  duplicates: number;
}

export const emptyCounts = (): ReadCounts => ({ records: 0, outside: 0, torn: 0, mistyped: 0, headers: 0, retried: 0, duplicates: 0 });

export function addCounts(into: ReadCounts, from: ReadCounts): void {
  into.records += from.records;
  into.outside += from.outside;
  into.torn += from.torn;
  into.mistyped += from.mistyped;
  into.headers += from.headers;
  into.retried += from.retried;
  into.duplicates += from.duplicates;
}

/** Hands `r` to the visitor when it is inside the window, counting it either way. */
export function visitRecord(r: UsageRecord, window: TimeWindow, visitor: LedgerVisitor, counts: ReadCounts): void {
  if ((window.since !== undefined && r.startedAt < window.since) || (window.until !== undefined && r.startedAt >= window.until)) {
    counts.outside++;
    return;
  }
  counts.records++;
  visitor.record(r);
}

/**
 * A file the report could not count whole, or that changed while it was read. Torn and mistyped
 * lines and a damaged file are losses (records the ledger holds that no total includes); a file
 * deleted by a retention while the report ran is not (the report's view is of the ledger as it
 * then was).
 */
export interface LedgerFileProblem {
  readonly file: string;
  /** Records read from the file (inside and outside the time window). */
  readonly records: number;
  /** Lines that are not JSON (a torn write, a truncated file), and their bytes. */
  readonly torn: number;
  readonly tornBytes: number;
  /**
   * Of the torn lines, ledger headers never written whole (a writer killed or a disk full while
   * writing a file's first line): the provisioned configuration they carried is missing, unless
   * another file's header has it (a commitment's cost may be left out of the totals).
   */
  readonly tornHeaders?: number;
  /** Well-formed lines or rows whose fields have the wrong types or absurd values. */
  readonly mistyped: number;
  /**
   * Why the file could not be read to its end (a truncated or corrupt gzip file, an I/O error):
   * what lies after the damage is unread, and how many records it held is unknown.
   */
  readonly damage?: string;
  /** For a damaged file: its size in bytes (compressed, for gzip). */
  readonly size?: number;
  /**
   * For a damaged file: bytes (compressed, for gzip) never reached: at least this many were not
   * read (the damage lies somewhat before them; 0 for a truncated file, which ends early).
   */
  readonly unreadBytes?: number;
  /** The file was deleted between the report's listing and its reading (a retention): not a loss. */
  readonly vanished?: true;
  /**
   * The active file was truncated while it was read (logrotate's `copytruncate`, `: > usage.jsonl`):
   * what it held was counted, its copy (when one appeared beside it) only past that, and what was
   * written after the truncation too. Not a loss.
   */
  readonly truncatedWhileRead?: true;
}

/** Whether a problem lost records: a torn or mistyped line, a damaged file. */
export const isLoss = (p: LedgerFileProblem): boolean => p.torn > 0 || p.mistyped > 0 || p.damage !== undefined;
