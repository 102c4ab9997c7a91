/** Money in the report is added up as integer nano-USD (exact up to about $9 million per sum). */
export const NANO = 1e9;

/** A record's USD amount as integer nano-USD (0 when unknown). */
export const toNano = (usd: number | undefined): number => (usd === undefined ? 0 : Math.round(usd * NANO));

export const fromNano = (nano: number): number => nano / NANO;

/** `$1,234.56` for large amounts, `$0.001234` (up to four significant figures) for small ones. */
export function formatUsd(usd: number): string {
  const a = Math.abs(usd);
  if (a === 0) return '$0.00';
  if (a >= 1) return `${usd < 0 ? '-' : ''}$${a.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  const digits = Math.min(9, Math.max(2, 3 - Math.floor(Math.log10(a))));
  return `${usd < 0 ? '-' : ''}$${a.toFixed(digits).replace(/(\.\d\d\d*?)0+$/, '$1')}`;
}

/** A nano-USD integer as an exact decimal string (`1234567` → `0.001234567`), for CSV exports. */
export function nanoDecimal(nano: number): string {
  const neg = nano < 0;
  const s = integerDigits(Math.abs(nano)).padStart(10, '0');
  return `${neg ? '-' : ''}${s.slice(0, -9)}.${s.slice(-9)}`;
}

/** A non-negative amount's integer digits, never in exponent form (`String(1e21)` is `1e+21`; a sum of absurd records reaches it). */
export function integerDigits(n: number): string {
  const r = Math.round(n);
  return r < 1e21 ? String(r) : Number.isFinite(r) ? BigInt(r).toString() : '0';
}
