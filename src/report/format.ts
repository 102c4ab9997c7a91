import type { Report } from './types.js';

import { formatUsd, formatUsdDecimal, groupThousands, nanoDecimal, toNano } from './money.js';

export { formatUsd as usd } from './money.js';

/** A summed amount: from its exact decimals when the report has them (past ~$9 million a double's cents drift), else the number. */
export const usdSum = (n: number, decimal: string | undefined): string => (decimal === undefined ? formatUsd(n) : formatUsdDecimal(decimal));

/** A rate as configured, every digit it has to the nano-dollar (`$1,000,000.065` an hour, not `$1,000,000.07`: hours × the shown rate is the shown commitment). */
export function usdRate(usd: number): string {
  const [whole = '0', fraction = ''] = nanoDecimal(toNano(Math.abs(usd))).split('.');
  return `${usd < 0 ? '-' : ''}$${groupThousands(whole)}.${fraction.replace(/0+$/, '').padEnd(2, '0')}`;
}

/** Shared number formats of the text, CSV and HTML renderings (so they show the same figures). */
export const int = (n: number): string => Math.round(n).toLocaleString('en-US');
export const pct = (n: number | undefined): string => (n === undefined ? '-' : `${(n * 100).toFixed(1)}%`);
export const growth = (g: number): string => `${g >= 0 ? '+' : ''}${pct(g)}`;

/** The skipped-lines sentence, or undefined when nothing was skipped. */
export function skippedNote(report: Report): string | undefined {
  const i = report.input;
  if (i === undefined || i.skipped === 0) return undefined;
  return `skipped ${int(i.skipped)} unreadable ledger lines (${int(i.torn)} torn, ${int(i.mistyped)} with wrong field types)`;
}

/** The period line: first and last call, and the window when one was asked for. */
export function periodLine(report: Report): string {
  const w = report.window;
  const window = w.since === undefined && w.until === undefined ? '' : ` (window ${w.since ?? '…'} to ${w.until ?? '…'})`;
  return `${int(report.totals.calls)} calls from ${report.from ?? '-'} to ${report.to ?? '-'}${window}`;
}
