/** A command-line mistake (unknown flag, bad value): exit code 2 and the usage text. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** `--since` / `--until`: an ISO date (UTC midnight) or date-time (UTC unless it has an offset). */
export function parseTime(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!DATE.test(value)) throw new UsageError(`${flag} ${value}: not a date (use 2026-11-20 or 2026-11-20T09:00:00Z)`);
  const t = Date.parse(value.length === 10 ? `${value}T00:00:00Z` : /Z|[+-]\d{2}:\d{2}$/.test(value) ? value : `${value}Z`);
  // Date.parse rolls impossible days over (2026-02-30 is March 2, 2026-04-31 is May 1): a typo would shift the window silently.
  const [y = 0, m = 0, d = 0] = value.slice(0, 10).split('-').map(Number);
  if (!Number.isFinite(t) || new Date(Date.UTC(y, m - 1, d)).getUTCDate() !== d || m < 1 || m > 12) throw new UsageError(`${flag} ${value}: not a valid date`);
  return t;
}

/** The time window of `--since` and `--until`, checked to be non-empty. */
export function parseWindow(since: string | undefined, until: string | undefined): { since?: number; until?: number } {
  const s = parseTime(since, '--since');
  const u = parseTime(until, '--until');
  if (s !== undefined && u !== undefined && s >= u) throw new UsageError(`--since ${since ?? ''} is not before --until ${until ?? ''}`);
  return { ...(s === undefined ? {} : { since: s }), ...(u === undefined ? {} : { until: u }) };
}
