import type { CollectionResult, MetricProducer } from '@opentelemetry/sdk-metrics';
import type { InProcessHistograms } from './in-process-histograms.js';
import { METER_NAME } from './semconv.js';

/**
 * The plugin's `MetricProducer` (`genAiHistograms: 'producer'`): hands the in-process GenAI
 * histograms to an OpenTelemetry SDK `MetricReader` it is registered with
 * (`new PeriodicExportingMetricReader({ exporter, metricProducers: [finops.metricProducer] })`).
 * The reader keeps its own resource; the scope is the plugin's (`bedrock-finops`). Cumulative.
 */
export function histogramProducer(histograms: InProcessHistograms, version: string): MetricProducer {
  return {
    collect(): Promise<CollectionResult> {
      const result = {
        // A reader uses only the scope metrics of extra producers (its own resource stands).
        resourceMetrics: { resource: { attributes: {} }, scopeMetrics: [{ scope: { name: METER_NAME, version }, metrics: histograms.metricData() }] },
        errors: [],
      };
      return Promise.resolve(result as unknown as CollectionResult);
    },
  };
}
