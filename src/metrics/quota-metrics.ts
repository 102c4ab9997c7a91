import type { Meter } from '@opentelemetry/api';
import type { Quotas } from '../quotas/quotas.js';
import { CardinalityGuard } from './cardinality-guard.js';
import {
  ATTR_FINOPS_OUTCOME,
  ATTR_FINOPS_QUOTA,
  ATTR_FINOPS_QUOTA_KEY,
  ATTR_FINOPS_QUOTA_UNIT,
  ATTR_FINOPS_REASON,
  FINOPS_QUOTA_IN_USE,
  FINOPS_QUOTA_LIMIT,
  FINOPS_QUOTA_REFUSALS,
  FINOPS_QUOTA_THROTTLES,
  FINOPS_QUOTA_WAIT_TIME,
  FINOPS_QUOTA_WAITS,
  UNIT_CALL,
  UNIT_EVENT,
  UNIT_SECONDS,
} from './semconv.js';

/**
 * Quota metrics, observed at collection time from what the governors keep: quota in use and the
 * believed limit per quota and unit (`tokens`, `requests`; in use also per share key), waits by
 * outcome and time waited, refusals by reason, throttles avoided and seen.
 */
export function registerQuotaMetrics(meter: Meter, quotas: Quotas, maxValuesPerKey: number): void {
  const inUse = meter.createObservableGauge(FINOPS_QUOTA_IN_USE, { description: 'Quota in use: charged in the window plus held by calls in flight (quota tokens, or requests).' });
  const limit = meter.createObservableGauge(FINOPS_QUOTA_LIMIT, { description: 'The limit the quota governor paces against (below the configured one for a while after Bedrock throttled).' });
  const waits = meter.createObservableCounter(FINOPS_QUOTA_WAITS, { description: 'Calls that waited for quota room, by how the wait ended (admitted, timed_out).', unit: UNIT_CALL });
  const waitTime = meter.createObservableCounter(FINOPS_QUOTA_WAIT_TIME, { description: 'Time calls spent waiting for quota room.', unit: UNIT_SECONDS });
  const refusals = meter.createObservableCounter(FINOPS_QUOTA_REFUSALS, { description: 'Calls a quota refused before sending, by reason (limit, wait-timeout, too-large).', unit: UNIT_CALL });
  const throttles = meter.createObservableCounter(FINOPS_QUOTA_THROTTLES, { description: 'Throttles avoided by the governor (a call waited, was refused or went to its fallback) and seen (Bedrock answered 429 anyway).', unit: UNIT_EVENT });
  const c = quotas.counters;
  // Share keys are attribution values: per quota, the first `maxValuesPerKey` seen reach metrics by name, later ones sum into `_OTHER`.
  const shareKeys = new CardinalityGuard(maxValuesPerKey);
  meter.addBatchObservableCallback(
    (result) => {
      for (const s of quotas.status()) {
        const q = { [ATTR_FINOPS_QUOTA]: s.quota };
        result.observe(inUse, s.inUse.tokens, { ...q, [ATTR_FINOPS_QUOTA_UNIT]: 'tokens' });
        result.observe(limit, s.believedLimit.tokens, { ...q, [ATTR_FINOPS_QUOTA_UNIT]: 'tokens' });
        if (s.limit.requests !== undefined) {
          result.observe(inUse, s.inUse.requests, { ...q, [ATTR_FINOPS_QUOTA_UNIT]: 'requests' });
          result.observe(limit, s.believedLimit.requests ?? 0, { ...q, [ATTR_FINOPS_QUOTA_UNIT]: 'requests' });
        }
        const byKey = new Map<string, number>();
        for (const t of s.teams) {
          if (t.team === '') continue;
          const key = shareKeys.safe(s.quota, t.team);
          byKey.set(key, (byKey.get(key) ?? 0) + t.inUse.tokens);
        }
        for (const [key, tokens] of byKey) result.observe(inUse, tokens, { ...q, [ATTR_FINOPS_QUOTA_UNIT]: 'tokens', [ATTR_FINOPS_QUOTA_KEY]: key });
      }
      for (const [quota, w] of c.waits) {
        result.observe(waits, w.admitted, { [ATTR_FINOPS_QUOTA]: quota, [ATTR_FINOPS_OUTCOME]: 'admitted' });
        result.observe(waits, w.timedOut, { [ATTR_FINOPS_QUOTA]: quota, [ATTR_FINOPS_OUTCOME]: 'timed_out' });
        result.observe(waitTime, w.ms / 1000, { [ATTR_FINOPS_QUOTA]: quota });
      }
      for (const r of c.refusals.values()) result.observe(refusals, r.count, { [ATTR_FINOPS_QUOTA]: r.quota, [ATTR_FINOPS_REASON]: r.reason });
      for (const [quota, t] of c.throttles) {
        result.observe(throttles, t.avoided, { [ATTR_FINOPS_QUOTA]: quota, [ATTR_FINOPS_OUTCOME]: 'avoided' });
        result.observe(throttles, t.seen, { [ATTR_FINOPS_QUOTA]: quota, [ATTR_FINOPS_OUTCOME]: 'seen' });
      }
    },
    [inUse, limit, waits, waitTime, refusals, throttles],
  );
}
