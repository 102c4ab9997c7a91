/** The plugin in its full configuration, as every benchmark section builds it. */
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type MetricProducer, type MetricReader } from '@opentelemetry/sdk-metrics';
import { bedrockFinOps, type BedrockFinOps } from '../src/index.js';

/**
 * How the plugin records the GenAI histograms: `'producer'` (the recommended fast setup),
 * `'instruments'` (`genAiHistograms: true`, the default: the SDK's histogram instruments) or
 * `'off'` (`genAiHistograms: false`).
 */
export type HistogramMode = 'producer' | 'instruments' | 'off';

export interface Metered {
  readonly finops: BedrockFinOps;
  /** The reader the plugin's metrics (and, in producer mode, its histograms) are collected from. */
  readonly reader: MetricReader;
}

/**
 * The plugin in its full configuration: an SDK MeterProvider, default attribution, bundled
 * pricing, one budget on the in-memory store (unless `budget: false`). In producer mode
 * `finops.metricProducer` is registered on the reader. The reader needs its producers when it is
 * built and the plugin needs the provider (so the reader) when it is built; a forwarding producer
 * closes that loop without a global provider.
 */
export function meteredPlugin(mode: HistogramMode, { budget = true }: { budget?: boolean } = {}): Metered {
  const registered: { producer?: MetricProducer } = {};
  const forward: MetricProducer = {
    collect: (options) => {
      if (registered.producer === undefined) throw new Error('metrics collected before the plugin was built');
      return registered.producer.collect(options);
    },
  };
  const reader = new PeriodicExportingMetricReader({
    exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
    exportIntervalMillis: 3_600_000,
    ...(mode === 'producer' ? { metricProducers: [forward] } : {}),
  });
  const finops = bedrockFinOps({
    meterProvider: new MeterProvider({ readers: [reader] }),
    attribution: { team: 'bench' },
    genAiHistograms: mode === 'producer' ? 'producer' : mode === 'instruments',
    budgets: budget ? [{ name: 'bench-daily', limit: { tokens: 1e15, costUsd: 1e6 }, window: 'day' }] : [],
  });
  if (finops.metricProducer !== undefined) registered.producer = finops.metricProducer;
  else if (mode === 'producer') throw new Error("genAiHistograms: 'producer' gave no metricProducer");
  return { finops, reader };
}

/** How many data points (calls) a histogram holds, summed over its series, read through `reader`. */
export async function histogramCount(reader: MetricReader, name: string): Promise<number> {
  const { resourceMetrics } = await reader.collect();
  let n = 0;
  for (const scope of resourceMetrics.scopeMetrics)
    for (const metric of scope.metrics)
      if (metric.descriptor.name === name) for (const point of metric.dataPoints) n += (point.value as { count?: number }).count ?? 0;
  return n;
}
