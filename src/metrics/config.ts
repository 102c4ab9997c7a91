import type { MeterProvider } from '@opentelemetry/api';
import { ConfigurationError } from '../errors/configuration-error.js';
import { boolean, positiveInteger } from '../validate.js';

/** Metric options of `bedrockFinOps`. */
export interface MetricsInputConfig {
  /**
   * Where metric instruments come from.
   * @defaultValue the global `MeterProvider` of `@opentelemetry/api`
   */
  readonly meterProvider?: MeterProvider;
  /**
   * Per attribution key, how many distinct values reach metrics; later values are reported as
   * `_OTHER` (records keep the true value). Bounds metric cardinality against untrusted values.
   * @defaultValue `100`
   */
  readonly maxValuesPerKey?: number;
  /**
   * Whether the GenAI histograms (`gen_ai.client.*`) carry attribution attributes too. The
   * `bedrock_finops.*` counters always do. Turn off to save series (each histogram series has
   * 15 buckets).
   * @defaultValue `true`
   */
  readonly histogramAttribution?: boolean;
  /**
   * How to record the GenAI semantic-convention histograms (`gen_ai.client.token.usage`,
   * `gen_ai.client.operation.duration`, `gen_ai.client.operation.time_to_first_chunk`):
   * - `true`: through the `MeterProvider`'s histogram instruments (works with any provider, no
   *   setup; each record costs the SDK's attribute hashing, ~2 µs);
   * - `'producer'`: aggregated in-process with attribute sets resolved once per call shape, and
   *   exported by `finops.metricProducer`, which you register on your SDK reader
   *   (`metricProducers: [finops.metricProducer]`) — the same names, units and buckets, a fraction
   *   of the cost;
   * - `false`: not at all.
   * The `bedrock_finops.*` counters, summed in-process, stay either way.
   * @defaultValue `true`
   */
  readonly genAiHistograms?: boolean | 'producer';
}

export interface MetricsResolvedConfig {
  readonly meterProvider: MeterProvider | undefined;
  readonly maxValuesPerKey: number;
  readonly histogramAttribution: boolean;
  readonly genAiHistograms: 'instruments' | 'producer' | 'off';
}

export const METRICS_OPTION_KEYS = ['meterProvider', 'maxValuesPerKey', 'histogramAttribution', 'genAiHistograms'] as const;

export function resolveMetricsConfig(o: MetricsInputConfig): MetricsResolvedConfig {
  const meterProvider = o.meterProvider;
  if (meterProvider !== undefined && typeof (meterProvider as { getMeter?: unknown }).getMeter !== 'function')
    throw new ConfigurationError('meterProvider', 'must be an OpenTelemetry MeterProvider (with getMeter)');
  return {
    meterProvider,
    maxValuesPerKey: positiveInteger(o.maxValuesPerKey, 100, 'maxValuesPerKey'),
    histogramAttribution: boolean(o.histogramAttribution, true, 'histogramAttribution'),
    genAiHistograms: o.genAiHistograms === 'producer' ? 'producer' : boolean(o.genAiHistograms, true, 'genAiHistograms') ? 'instruments' : 'off',
  };
}
