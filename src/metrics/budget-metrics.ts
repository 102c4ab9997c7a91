import type { Meter } from '@opentelemetry/api';
import { LIMIT_TYPES } from '../budgets/amounts.js';
import type { Budgets } from '../budgets/budgets.js';
import {
  ATTR_FINOPS_BUDGET,
  ATTR_FINOPS_BUDGET_KEY,
  ATTR_FINOPS_LIMIT_TYPE,
  ATTR_FINOPS_POLICY,
  ATTR_FINOPS_THRESHOLD,
  FINOPS_BUDGET_ALERTS,
  FINOPS_BUDGET_LIMIT,
  FINOPS_BUDGET_REJECTIONS,
  FINOPS_BUDGET_USED,
  FINOPS_POLICY_REJECTIONS,
  FINOPS_STORE_ERRORS,
  FINOPS_STORE_EVENTS,
  FINOPS_STORE_PENDING,
  ATTR_FINOPS_STORE_EVENT,
  UNIT_CALL,
  UNIT_EVENT,
} from './semconv.js';

/**
 * Budget metrics, all observed at collection time from what the budget manager already keeps:
 * usage and limit per budget / key / limit type (gauges), rejections, threshold alerts, policy
 * rejections and store errors (counters). No store round trip per collection.
 */
export function registerBudgetMetrics(meter: Meter, budgets: Budgets): void {
  const used = meter.createObservableGauge(FINOPS_BUDGET_USED, { description: 'Budget usage in the current window (committed plus reserved), by limit type.' });
  const limit = meter.createObservableGauge(FINOPS_BUDGET_LIMIT, { description: 'Budget limit, by limit type.' });
  const rejections = meter.createObservableCounter(FINOPS_BUDGET_REJECTIONS, { description: 'Calls a budget stopped before they were sent.', unit: UNIT_CALL });
  const alerts = meter.createObservableCounter(FINOPS_BUDGET_ALERTS, { description: 'Budget threshold crossings (alertAt).', unit: UNIT_EVENT });
  const policy = meter.createObservableCounter(FINOPS_POLICY_REJECTIONS, { description: 'Calls a model policy stopped before they were sent.', unit: UNIT_CALL });
  const storeErrors = meter.createObservableCounter(FINOPS_STORE_ERRORS, { description: 'Budget store failures seen by admission and commits.', unit: UNIT_EVENT });
  const storeEvents = meter.createObservableCounter(FINOPS_STORE_EVENTS, { description: 'What the budget store went through: errors, timeouts, fast failures, buffered, replayed and dropped commits.', unit: UNIT_EVENT });
  const storePending = meter.createObservableGauge(FINOPS_STORE_PENDING, { description: 'Commits buffered while the budget store is unavailable.' });
  meter.addBatchObservableCallback(
    (result) => {
      for (const s of budgets.knownStatuses()) {
        for (const t of LIMIT_TYPES) {
          const l = s.limit[t];
          if (l === undefined) continue;
          const attrs = { [ATTR_FINOPS_BUDGET]: s.budget, [ATTR_FINOPS_BUDGET_KEY]: s.key ?? '', [ATTR_FINOPS_LIMIT_TYPE]: t };
          result.observe(used, s.used[t] + s.reserved[t], attrs);
          result.observe(limit, l, attrs);
        }
      }
      for (const r of budgets.counters.rejections.values()) result.observe(rejections, r.count, { [ATTR_FINOPS_BUDGET]: r.budget, [ATTR_FINOPS_LIMIT_TYPE]: r.limitType });
      for (const a of budgets.counters.alerts.values()) result.observe(alerts, a.count, { [ATTR_FINOPS_BUDGET]: a.budget, [ATTR_FINOPS_THRESHOLD]: a.threshold });
      for (const [name, n] of budgets.counters.policyRejections) result.observe(policy, n, { [ATTR_FINOPS_POLICY]: name });
      result.observe(storeErrors, budgets.counters.storeErrors);
      const stats = budgets.store.stats?.();
      if (stats !== undefined)
        for (const [event, n] of Object.entries(stats)) {
          if (event === 'pending') result.observe(storePending, n);
          else result.observe(storeEvents, n, { [ATTR_FINOPS_STORE_EVENT]: event });
        }
    },
    [used, limit, rejections, alerts, policy, storeErrors, storeEvents, storePending],
  );
}
