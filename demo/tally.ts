import type { UsageRecord } from '../src/index.js';
import { textTable } from '../src/report/text-table.js';

/** Running totals for one row of a report. */
export interface Row {
  calls: number;
  errors: number;
  rejected: number;
  fallbacks: number;
  input: number;
  output: number;
  cache: number;
  costUsd: number;
}

const empty = (): Row => ({ calls: 0, errors: 0, rejected: 0, fallbacks: 0, input: 0, output: 0, cache: 0, costUsd: 0 });

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

  total(): Row {
    const t = empty();
    for (const r of this.rows.values()) for (const k of Object.keys(t) as (keyof Row)[]) t[k] += r[k];
    return t;
  }
}

export const usd = (n: number): string => `$${n.toFixed(n < 1 ? 4 : 2)}`;
export const num = (n: number): string => n.toLocaleString('en-US');

/** A plain text table with aligned columns (the report's own). */
export const table = (headers: readonly string[], rows: readonly (readonly string[])[]): string => textTable(headers, rows, '─');
