import type { Report } from './types.js';

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. Text that a
 * spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab or carriage return first: attribution
 * values and model ids are untrusted, `=HYPERLINK(…)` or `=cmd|…`) gets a leading `'` (OWASP's
 * CSV injection advice); numbers, negative ones included, are left as they are.
 */
export const csvField = (v: string | number | undefined | null): string => {
  if (v === undefined || v === null) return '';
  const s = typeof v === 'string' && /^[=+\-@\t\r]/.test(v) && !/^-\d+(\.\d+)?$/.test(v) ? `'${v}` : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export const csvLine = (fields: readonly (string | number | undefined | null)[]): string => `${fields.map(csvField).join(',')}\r\n`;

/**
 * The report's breakdowns as one CSV table: a `breakdown` column naming the table (`team`,
 * `team,model`), one column per dimension used by any table (empty where a table does not
 * group by it), then calls, tokens and cost in USD (9 decimals) — for spreadsheets and BI tools.
 */
export function renderCsv(report: Report): string {
  const dims = [...new Set(report.breakdowns.flatMap((b) => b.dimensions))];
  let out = csvLine(['breakdown', ...dims, 'calls', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens', 'cost_usd']);
  for (const b of report.breakdowns)
    for (const r of b.rows) out += csvLine([b.dimension, ...dims.map((d) => (b.dimensions.includes(d) ? (r.keys[d] ?? '') : '')), r.calls, r.inputTokens, r.outputTokens, r.cacheReadTokens, r.cacheWriteTokens, r.costUsdDecimal ?? r.costUsd.toFixed(9)]);
  return out;
}
