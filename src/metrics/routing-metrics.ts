import type { Meter } from '@opentelemetry/api';
import type { RoutingCounters } from '../fallback/routing-counters.js';
import type { Utilization } from '../fallback/utilization.js';
import type { ProvisionedModelConfig } from '../fallback/config.js';
import {
  ATTR_ERROR_TYPE,
  ATTR_FINOPS_FALLBACK_FROM,
  ATTR_FINOPS_FALLBACK_TO,
  ATTR_FINOPS_PROVISIONED_MODEL,
  ATTR_FINOPS_REASON,
  ATTR_REQUEST_MODEL,
  FINOPS_FALLBACKS,
  FINOPS_PROVISIONED_MODEL_UNITS,
  FINOPS_PROVISIONED_TOKENS_PER_MINUTE,
  FINOPS_THROTTLES,
  UNIT_CALL,
  UNIT_EVENT,
  UNIT_TOKEN,
} from './semconv.js';

/**
 * Throttles (per attempt) and fallbacks by from / to / reason (counters), and per provisioned
 * ARN with `modelUnits` configured, the tokens sent to it in the last minute next to its model
 * units (gauges), for a utilization panel.
 */
export function registerRoutingMetrics(meter: Meter, counters: RoutingCounters, utilization: Utilization, provisioned: ReadonlyMap<string, ProvisionedModelConfig>): void {
  const throttles = meter.createObservableCounter(FINOPS_THROTTLES, { description: 'Throttled attempts (429s), counted per attempt, retried ones too.', unit: UNIT_EVENT });
  const fallbacks = meter.createObservableCounter(FINOPS_FALLBACKS, { description: 'Calls re-routed from a provisioned model to its on-demand fallback.', unit: UNIT_CALL });
  const tpm = meter.createObservableGauge(FINOPS_PROVISIONED_TOKENS_PER_MINUTE, { description: 'Tokens sent to a provisioned model in the last minute.', unit: UNIT_TOKEN });
  const units = meter.createObservableGauge(FINOPS_PROVISIONED_MODEL_UNITS, { description: 'Model units purchased for a provisioned model (its capacity).' });
  const withUnits = [...provisioned].filter(([, c]) => c.modelUnits !== undefined);
  meter.addBatchObservableCallback(
    (result) => {
      for (const t of counters.throttles.values()) result.observe(throttles, t.count, { [ATTR_REQUEST_MODEL]: t.model, [ATTR_ERROR_TYPE]: t.error });
      for (const f of counters.fallbacks.values())
        result.observe(fallbacks, f.count, { [ATTR_FINOPS_FALLBACK_FROM]: f.from, [ATTR_FINOPS_FALLBACK_TO]: f.to, [ATTR_FINOPS_REASON]: f.reason });
      const now = Date.now();
      for (const [arn, config] of withUnits) {
        const attrs = { [ATTR_FINOPS_PROVISIONED_MODEL]: arn };
        result.observe(tpm, utilization.tokensPerMinute(arn, now), attrs);
        result.observe(units, config.modelUnits ?? 0, attrs);
      }
    },
    [throttles, fallbacks, tpm, units],
  );
}
