/** Budget windows: UTC calendar periods (`total` never resets). */
export type BudgetWindow = 'minute' | 'hour' | 'day' | 'week' | 'month' | 'total';

export const BUDGET_WINDOWS: readonly BudgetWindow[] = ['minute', 'hour', 'day', 'week', 'month', 'total'];

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** The window containing `now`: its start and end (epoch ms; `total` ends at +Infinity). */
export function windowBounds(window: BudgetWindow, now: number): { readonly start: number; readonly end: number } {
  switch (window) {
    case 'minute': {
      const start = now - (now % MINUTE);
      return { start, end: start + MINUTE };
    }
    case 'hour': {
      const start = now - (now % HOUR);
      return { start, end: start + HOUR };
    }
    case 'day': {
      const start = now - (now % DAY);
      return { start, end: start + DAY };
    }
    case 'week': {
      // ISO weeks start on Monday; 1970-01-01 was a Thursday.
      const day = Math.floor(now / DAY);
      const monday = day - ((day + 3) % 7);
      return { start: monday * DAY, end: (monday + 7) * DAY };
    }
    case 'month': {
      const d = new Date(now);
      const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
      return { start, end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
    }
    case 'total':
      return { start: 0, end: Number.POSITIVE_INFINITY };
  }
}
