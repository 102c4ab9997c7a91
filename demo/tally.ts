import type { UsageRecord } from '../src/index.js';
import { textTable } from '../src/report/text-table.js';

/** Running totals for one row of a table. */
export interface Row {
  calls: number;
  errors: number;
  fallbacks: number;
  input: number;
  output: number;
  cache: number;
  costUsd: number;
}

const empty = (): Row => ({ calls: 0, errors: 0, fallbacks: 0, input: 0, output: 0, cache: 0, costUsd: 0 });

/** Totals by a dimension of the records (team, feature, model…). */
export class Tally {
  readonly rows = new Map<string, Row>();

  row(key: string): Row {
    let r = this.rows.get(key);
    if (r === undefined) {
      r = empty();
      this.rows.set(key, r);
    }
    return r;
  }

  add(key: string, record: UsageRecord): void {
    const r = this.row(key);
    r.calls++;
    if (record.error !== undefined) r.errors++;
    if (record.fallback !== undefined) r.fallbacks++;
    r.input += record.inputTokens;
    r.output += record.outputTokens;
    r.cache += record.cacheReadInputTokens + record.cacheWriteInputTokens;
    r.costUsd += record.costUsd ?? 0;
  }
}

/** Dollars: cents above $1, micro-dollars below (single calls cost fractions of a cent). */
export const usd = (n: number): string => `$${n.toFixed(Math.abs(n) >= 1 ? 2 : 6)}`;
export const num = (n: number): string => Math.round(n).toLocaleString('en-US');
/** A time, always in UTC and saying so. */
export const utc = (d: Date): string => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** A plain text table with aligned columns (the report's own). */
export const table = (headers: readonly string[], rows: readonly (readonly string[])[]): string => textTable(headers, rows, '─');
