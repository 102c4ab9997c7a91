import type { ServiceInputTypes, ServiceOutputTypes } from '@aws-sdk/client-bedrock-runtime';
import type { MiddlewareStack, Pluggable } from '@smithy/types';
import { ModelResolver } from './call/model-resolver.js';
import { Meter } from './meter.js';
import { FINOPS_MIDDLEWARE, finOpsMiddleware } from './middleware.js';
import { resolveOptions, type BedrockFinOpsOptions } from './options.js';
import { metrics } from '@opentelemetry/api';
import { MetricsRecorder } from './metrics/metrics-recorder.js';
import { VERSION } from './version.js';
import { OnceReporter } from './diagnostics.js';
import { Pricer } from './pricing/pricer.js';

/** What {@link bedrockFinOps} returns: a smithy `Pluggable` plus the plugin's own handles. */
export interface BedrockFinOps extends Pluggable<ServiceInputTypes, ServiceOutputTypes> {
  /** Adds the plugin's middleware to a client's stack (what `client.middlewareStack.use(finops)` calls). */
  applyToStack(stack: MiddlewareStack<ServiceInputTypes, ServiceOutputTypes>): void;
  /** Flushes and stops what the plugin started (timers, exporters it owns). Idempotent. */
  shutdown(): Promise<void>;
}

/**
 * Creates the plugin. Apply it to any number of `BedrockRuntimeClient`s with
 * `client.middlewareStack.use(finops)`; they share its metrics and budgets.
 * Invalid options throw a `ConfigurationError` naming the field.
 *
 * @example
 * const finops = bedrockFinOps({ attribution: { team: 'search' }, onUsage: (r) => console.log(r) });
 * client.middlewareStack.use(finops);
 */
export function bedrockFinOps(options?: BedrockFinOpsOptions): BedrockFinOps {
  const resolved = resolveOptions(options);
  const reporter = new OnceReporter();
  const pricer = new Pricer({ overrides: resolved.priceOverrides, discount: resolved.discount, serviceTiers: resolved.serviceTiers, reporter });
  const resolver = new ModelResolver(resolved.aliases, (pricedAs, target, at) => pricer.rateCard(pricedAs, target, at));
  const meter = new Meter(resolver, resolved.attribution, pricer, resolved.propagateToBedrock, reporter);
  const provider = resolved.meterProvider;
  const recorder = new MetricsRecorder({
    meterProvider: provider === undefined ? () => metrics.getMeterProvider() : () => provider,
    version: VERSION,
    maxValuesPerKey: resolved.maxValuesPerKey,
    histogramAttribution: resolved.histogramAttribution,
  });
  if (provider !== undefined) recorder.start();
  meter.addSink(function metricsSink(record, call) {
    recorder.record(record, call);
  });
  const onUsage = resolved.onUsage;
  if (onUsage !== undefined) meter.addSink(function onUsageSink(record) {
    onUsage(record);
  });
  const middleware = finOpsMiddleware<ServiceInputTypes, ServiceOutputTypes>(meter);

  return {
    applyToStack(stack) {
      stack.add(middleware, FINOPS_MIDDLEWARE);
    },
    shutdown() {
      return Promise.resolve();
    },
  };
}
