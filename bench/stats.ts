/** Small statistics helpers for the benchmark. */
import { loadavg } from 'node:os';

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

/** With its sign: `+1.2`, `-0.4`. */
export const signed = (n: number, digits = 1): string => `${n >= 0 ? '+' : ''}${fmt(n, digits)}`;

/** `min–max` of `values`, formatted. */
export function range(values: readonly number[], digits = 2): string {
  return values.length === 0 ? 'n/a' : `${fmt(Math.min(...values), digits)}–${fmt(Math.max(...values), digits)}`;
}

/** The 1-, 5- and 15-minute load averages, for the record of how busy the machine was. */
export function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
}
