import type { BudgetEvent, BudgetStatus, UsageRecord } from '../src/index.js';
import { num, table, usd, utc } from './tally.js';
import { PROVISIONED } from './workload.js';

/** The budgets after the run: used, limit and when each window resets (UTC). */
export function budgetsTable(status: readonly BudgetStatus[]): string {
  return table(
    ['budget', 'key', 'window', 'action', 'used', 'limit', 'remaining', 'resets'],
    status.map((s) => {
      const type = s.limit.costUsd !== undefined ? 'costUsd' : 'tokens';
      const f = (n: number | undefined) => (n === undefined ? '-' : type === 'costUsd' ? usd(n) : num(n));
      return [s.budget, s.key ?? '-', s.window, s.action, f(s.used[type]), f(s.limit[type]), f(s.remaining[type]), s.resetAt === undefined ? 'never' : utc(s.resetAt)];
    }),
  );
}

/** One line: rejections, and each distinct alert once. */
export function budgetEventsLine(events: readonly BudgetEvent[]): string {
  const alerts = events.filter((e) => e.type !== 'rejected').map((e) => `${e.type} ${e.budget}${e.threshold === undefined ? '' : ` at ${e.threshold * 100}%`}`);
  return `Budget events: ${events.filter((e) => e.type === 'rejected').length} rejections; ${[...new Set(alerts)].join(', ') || 'no alerts'}`;
}

/** What the provisioned model served and what spilled to on-demand. */
export function provisionedLine(records: readonly UsageRecord[]): string {
  const spilled = records.filter((r) => r.fallback !== undefined);
  const served = records.filter((r) => r.modelKind === 'provisioned-model');
  const onDemandEquivalent = served.reduce((s, r) => s + (r.onDemandEquivalentUsd ?? 0), 0);
  const reasons = [...new Set(spilled.map((r) => r.fallback?.reason))].join(', ') || '-';
  return `Provisioned throughput ${PROVISIONED.arn.split('/').pop() ?? ''} (${PROVISIONED.modelUnits} model unit, $${PROVISIONED.hourlyCostUsd}/hour): ${served.length} calls served (on-demand equivalent ${usd(onDemandEquivalent)}), ${spilled.length} spilled to on-demand (${reasons}), spilled cost ${usd(spilled.reduce((s, r) => s + (r.costUsd ?? 0), 0))}`;
}
