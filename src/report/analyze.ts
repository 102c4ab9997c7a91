import type { LedgerProvisioned } from '../ledger/header.js';
import type { UsageRecord } from '../record.js';
import { ReportBuilder, type ReportOptions } from './report-builder.js';
import type { Report } from './types.js';

export type { ReportOptions } from './report-builder.js';

/** Provisioned-throughput facts for the report (what the ledger header carries, or `--config`). */
export type ReportProvisioned = LedgerProvisioned;

/**
 * The FinOps report of a ledger in memory: cost and tokens by any dimension or combination,
 * prompt-size percentiles and growth, output/input ratios, cache effectiveness, provisioned
 * utilization and break-even, right-sizing and batch hints. Pure: the same records give the same
 * report. For ledgers on disk, stream them into a {@link ReportBuilder} with `readLedgers`.
 */
export function analyze(records: Iterable<UsageRecord>, options: ReportOptions = {}): Report {
  const builder = new ReportBuilder(options);
  for (const r of records) builder.record(r);
  return builder.build();
}
