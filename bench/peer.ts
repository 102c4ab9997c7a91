/**
 * The peer we compare against: OpenTelemetry's `@opentelemetry/instrumentation-aws-sdk` (0.78, the
 * newest whose engines include Node 20), with tracing (a batch span processor into an in-memory
 * exporter) and its GenAI metrics (an SDK MeterProvider), as an app running OTel sets it up.
 *
 * It patches the SDK as it loads (require-in-the-middle on `@smithy/core`'s client), so
 * {@link installPeer} must run before `@aws-sdk/client-bedrock-runtime` is imported. The patch is
 * on `Client.prototype.send`: while the instrumentation is disabled, `send` is the original, and
 * a client that only ever sends while it is disabled is never instrumented. A client that sent
 * once while it was enabled keeps its wrapped middleware stack; so the bench gives the peer its
 * own client, enables the instrumentation around the peer's blocks only, and counts the spans
 * each block produced ({@link Peer.takeSpans}) to prove which side was instrumented.
 */
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AwsInstrumentation } from '@opentelemetry/instrumentation-aws-sdk';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type MetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, InMemorySpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';

export interface Peer {
  /** Instruments every client that sends from now on (outside the timed region). */
  enable(): void;
  /** Stops instrumenting clients that were never instrumented. */
  disable(): void;
  /** Flushes the span processor; returns how many spans ended since the last call. */
  takeSpans(): Promise<number>;
  /** The reader of the peer's GenAI metrics. */
  readonly reader: MetricReader;
}

let installed: Peer | undefined;

/** Installs the instrumentation (disabled) and the global context manager an OTel app registers. Idempotent. */
export function installPeer(): Peer {
  if (installed !== undefined) return installed;
  // An app running OTel tracing has an AsyncLocalStorage context manager; span context needs it.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const spans = new InMemorySpanExporter();
  const processor = new BatchSpanProcessor({ exporter: spans });
  const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 });
  const instrumentation = new AwsInstrumentation({ enabled: false });
  instrumentation.setTracerProvider(new TracerProvider({ spanProcessors: [processor] }));
  instrumentation.setMeterProvider(new MeterProvider({ readers: [reader] }));
  // The first enable() installs the module hooks: it must precede the SDK's import.
  instrumentation.enable();
  instrumentation.disable();
  installed = {
    enable: () => instrumentation.enable(),
    disable: () => instrumentation.disable(),
    async takeSpans() {
      await processor.forceFlush();
      const n = spans.getFinishedSpans().length;
      spans.reset();
      return n;
    },
    reader,
  };
  return installed;
}
