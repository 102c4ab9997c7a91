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
  FINOPS_STORE_ROUND_TRIP,
  FINOPS_STORE_SLICES,
  FINOPS_STORE_UNAVAILABLE,
  FINOPS_BUDGET_INSURED,
  ATTR_FINOPS_OUTCOME,
  ATTR_FINOPS_STORE_EVENT,
  ATTR_FINOPS_STORE_OPERATION,
  ATTR_ERROR_TYPE,
  STORE_ROUND_TRIP_BUCKETS,
  UNIT_CALL,
  UNIT_EVENT,
  UNIT_SECONDS,
} from './semconv.js';

/**
 * Budget metrics, observed at collection time from what the budget phases and the store already
 * keep: usage and limit per budget / key / limit type (gauges), rejections, threshold alerts,
 * policy rejections, store errors and insured calls (counters), and the store's own state
 * (events such as slices leased and returned, buffered and dropped commits; pending commits,
 * slices held, outage state). No store round trip per collection. The one synchronous
 * instrument is the store's round-trip histogram, recorded as round trips happen (a leasing
 * store makes far fewer than one per call).
 */
export function registerBudgetMetrics(meter: Meter, budgets: Budgets): void {
  const used = meter.createObservableGauge(FINOPS_BUDGET_USED, { description: 'Budget usage in the current window (committed plus reserved), by limit type.' });
  const limit = meter.createObservableGauge(FINOPS_BUDGET_LIMIT, { description: 'Budget limit, by limit type.' });
  const rejections = meter.createObservableCounter(FINOPS_BUDGET_REJECTIONS, { description: 'Calls a budget stopped before they were sent.', unit: UNIT_CALL });
  const alerts = meter.createObservableCounter(FINOPS_BUDGET_ALERTS, { description: 'Budget threshold crossings (alertAt).', unit: UNIT_EVENT });
  const policy = meter.createObservableCounter(FINOPS_POLICY_REJECTIONS, { description: 'Calls a model policy stopped before they were sent.', unit: UNIT_CALL });
  const storeErrors = meter.createObservableCounter(FINOPS_STORE_ERRORS, { description: 'Budget store failures seen by admission and commits.', unit: UNIT_EVENT });
  const storeEvents = meter.createObservableCounter(FINOPS_STORE_EVENTS, {
    description: 'What the budget store went through: round trips, slices leased and returned, refusals, errors, timeouts, commits buffered, acknowledged and dropped.',
    unit: UNIT_EVENT,
  });
  const storePending = meter.createObservableGauge(FINOPS_STORE_PENDING, { description: 'Commits applied in this process that the budget store has not acknowledged yet.' });
  const storeSlices = meter.createObservableGauge(FINOPS_STORE_SLICES, { description: 'Slices of budget room this process holds.' });
  const storeUnavailable = meter.createObservableGauge(FINOPS_STORE_UNAVAILABLE, { description: '1 while the budget store is unreachable, else 0.' });
  const insured = meter.createObservableCounter(FINOPS_BUDGET_INSURED, { description: "Calls admitted or refused against the insurance allowance (onStoreError 'allow') while the budget store was unavailable.", unit: UNIT_CALL });
  const roundTrip = meter.createHistogram(FINOPS_STORE_ROUND_TRIP, {
    description: 'Round trips to the budget store, from sending to the answer.',
    unit: UNIT_SECONDS,
    advice: { explicitBucketBoundaries: [...STORE_ROUND_TRIP_BUCKETS] },
  });
  const tripAttrs = new Map<string, Record<string, string>>();
  budgets.store.observe?.({
    roundTrip(seconds, operation, ok) {
      const id = `${operation}\u0001${ok}`;
      let attrs = tripAttrs.get(id);
      if (attrs === undefined) {
        attrs = ok ? { [ATTR_FINOPS_STORE_OPERATION]: operation } : { [ATTR_FINOPS_STORE_OPERATION]: operation, [ATTR_ERROR_TYPE]: 'store_error' };
        if (tripAttrs.size < 64) tripAttrs.set(id, attrs);
      }
      roundTrip.record(seconds, attrs);
    },
  });
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
      result.observe(insured, budgets.insurance.admitted, { [ATTR_FINOPS_OUTCOME]: 'admitted' });
      result.observe(insured, budgets.insurance.refused, { [ATTR_FINOPS_OUTCOME]: 'refused' });
      const stats = budgets.store.stats?.();
      if (stats !== undefined) {
        for (const [event, n] of Object.entries(stats.events)) result.observe(storeEvents, n, { [ATTR_FINOPS_STORE_EVENT]: event });
        result.observe(storePending, stats.pendingCommits);
        result.observe(storeSlices, stats.slices);
        result.observe(storeUnavailable, stats.unavailable ? 1 : 0);
      }
    },
    [used, limit, rejections, alerts, policy, storeErrors, storeEvents, storePending, storeSlices, storeUnavailable, insured],
  );
}
