import type { UsageRecord } from '../record.js';
import type { LedgerHeader } from './header.js';

/**
 * Where every UsageRecord is written (never any prompt or completion text: records carry none).
 * `write` never throws and never blocks the call: writes are batched off the hot path; a write
 * error is reported once through OTel `diag` and the batch is counted as dropped.
 */
export interface UsageLedger {
  write(record: UsageRecord): void;
  /**
   * Stores the plugin's configuration the report needs (provisioned commitments: model units,
   * hourly cost, fallback) with the records. The plugin calls it once at construction; calling it
   * again replaces the header for what is written from then on. Optional for custom ledgers.
   */
  describe?(header: LedgerHeader): void;
  /** Writes what is buffered now. */
  flush(): Promise<void>;
  /** Flushes and releases the file. */
  close(): Promise<void>;
  /** Records written, and records dropped by write errors or a full buffer. */
  readonly written: number;
  readonly dropped: number;
}

/** The record as stored: every UsageRecord field, with `startedAt` as an ISO date for people reading the file. */
export function toStored(record: UsageRecord): Record<string, unknown> {
  return { ...record, startedAt: new Date(record.startedAt).toISOString() };
}
