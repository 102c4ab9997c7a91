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
}

export const emptyCounts = (): ReadCounts => ({ records: 0, outside: 0, torn: 0, mistyped: 0, headers: 0 });

export function addCounts(into: ReadCounts, from: ReadCounts): void {
  into.records += from.records;
  into.outside += from.outside;
  into.torn += from.torn;
  into.mistyped += from.mistyped;
  into.headers += from.headers;
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
