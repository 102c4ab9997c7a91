import type { ServiceInputTypes, ServiceOutputTypes } from '@aws-sdk/client-bedrock-runtime';
import { metrics } from '@opentelemetry/api';
import type { MiddlewareStack, Pluggable } from '@smithy/types';
import type { Amounts } from './budgets/amounts.js';
import { BudgetManager, type BudgetCheck, type BudgetStatus } from './budgets/budget-manager.js';
import { countTokensEstimator } from './budgets/count-tokens-estimator.js';
import { MemoryBudgetStore } from './budgets/memory-store.js';
import type { BudgetStore } from './budgets/store.js';
import { normalizeAttribution } from './attribution/attribution.js';
import { ModelResolver } from './model/model-resolver.js';
import { OnceReporter } from './diagnostics.js';
import { Meter } from './meter.js';
import { registerBudgetMetrics } from './metrics/budget-metrics.js';
import { MetricsRecorder } from './metrics/metrics-recorder.js';
import { FINOPS_MIDDLEWARE, finOpsMiddleware } from './middleware.js';
import { resolveOptions, type BedrockFinOpsOptions } from './options.js';
import { Pricer } from './pricing/pricer.js';
import { Breakers } from './fallback/breaker.js';
import { FINOPS_ATTEMPT_MIDDLEWARE, fallbackAttemptMiddleware } from './fallback/fallback-signal.js';
import { FallbackRouter, RoutingCounters } from './fallback/router.js';
import { Utilization } from './fallback/utilization.js';
import { registerRoutingMetrics } from './metrics/routing-metrics.js';
import { VERSION } from './version.js';

/** Budget handles of a plugin instance. */
export interface BudgetHandles {
  /** Every budget counter in its current window: used, reserved, limit, remaining, reset time. */
  status(): Promise<BudgetStatus[]>;
  /**
   * Would a call with this attribution to this model be admitted now? Nothing is reserved.
   * Merges the plugin's default attribution first. `estimate` is what the call would need
   * (default: one token — "is any room left").
   */
  check(attribution: Readonly<Record<string, string>>, modelId: string, estimate?: Partial<Amounts>): Promise<BudgetCheck>;
}

/** What {@link bedrockFinOps} returns: a smithy `Pluggable` plus the plugin's own handles. */
export interface BedrockFinOps extends Pluggable<ServiceInputTypes, ServiceOutputTypes> {
  /** Adds the plugin's middleware to a client's stack (what `client.middlewareStack.use(finops)` calls). */
  applyToStack(stack: MiddlewareStack<ServiceInputTypes, ServiceOutputTypes>): void;
  readonly budgets: BudgetHandles;
  /** Closes what the plugin holds (the budget store's timers and buffers, the ledger). Idempotent. */
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
  const o = resolveOptions(options);
  const reporter = new OnceReporter();
  const pricer = new Pricer({ overrides: o.priceOverrides, discount: o.discount, serviceTiers: o.serviceTiers, reporter });
  const resolver = new ModelResolver(o.aliases, (pricedAs, target, at) => pricer.rateCard(pricedAs, target, at));
  const meter = new Meter(resolver, o.attribution, pricer, o.propagateToBedrock, reporter);
  const routing = new RoutingCounters();
  const router = new FallbackRouter(o.provisioned, new Breakers(o.cooldownMs), o.fallbackOn, resolver, routing);
  const utilization = new Utilization();
  const store: BudgetStore = o.budgetStore ?? new MemoryBudgetStore();
  const budgets = new BudgetManager({
    rules: o.rules,
    policies: o.policies,
    store,
    estimator:
      o.estimator === 'heuristic' ? undefined : o.estimator === 'count-tokens' && o.countTokensClient !== undefined ? countTokensEstimator(o.countTokensClient, reporter) : typeof o.estimator === 'function' ? o.estimator : undefined,
    defaultMaxOutputTokens: o.defaultMaxOutputTokens,
    leaseMs: o.reservationLeaseMs,
    onStoreError: o.onStoreError,
    onBudgetEvent: o.onBudgetEvent,
    pricer,
    reporter,
    maxKeysPerRule: o.maxValuesPerKey,
    // A provisioned call may be served by its fallback: reserve its cost at the fallback's price.
    costModelFor: (call) => {
      const fallback = router.fallbackOf(call.requestedModelId);
      return fallback === undefined ? call.model : resolver.resolve(fallback, call.startedAt);
    },
  });

  const provider = o.meterProvider;
  const recorder = new MetricsRecorder({
    meterProvider: provider === undefined ? () => metrics.getMeterProvider() : () => provider,
    version: VERSION,
    maxValuesPerKey: o.maxValuesPerKey,
    histogramAttribution: o.histogramAttribution,
    histograms: o.genAiHistograms,
    onStart: (m) => {
      registerRoutingMetrics(m, routing, utilization, o.provisioned);
      if (budgets.active) registerBudgetMetrics(m, budgets, store);
    },
  });
  if (provider !== undefined) recorder.start();

  // Budgets first, so status() reflects a call by the time its record is seen.
  if (budgets.active)
    meter.addSink(function budgetSink(record, call) {
      budgets.commit(call, record);
    });
  if (o.provisioned.size > 0)
    meter.addSink(function utilizationSink(record) {
      if (record.modelKind === 'provisioned-model' && record.fallback === undefined)
        utilization.add(record.modelId, record.inputTokens + record.outputTokens + record.cacheReadInputTokens + record.cacheWriteInputTokens, Date.now());
    });
  meter.addSink(function metricsSink(record, call) {
    recorder.record(record, call);
  });
  const ledger = o.ledger;
  if (ledger !== undefined)
    meter.addSink(function ledgerSink(record) {
      ledger.write(record);
    });
  const onUsage = o.onUsage;
  if (onUsage !== undefined)
    meter.addSink(function onUsageSink(record) {
      onUsage(record);
    });

  const middleware = finOpsMiddleware<ServiceInputTypes, ServiceOutputTypes>(meter, budgets.active ? budgets : undefined, router);
  const attemptMiddleware = fallbackAttemptMiddleware<ServiceInputTypes, ServiceOutputTypes>((model, error) => {
    routing.throttle(model, error);
  });
  let closed: Promise<void> | undefined;

  return {
    applyToStack(stack) {
      stack.add(middleware, FINOPS_MIDDLEWARE);
      stack.add(attemptMiddleware, FINOPS_ATTEMPT_MIDDLEWARE);
    },
    budgets: {
      status: () => budgets.status(),
      check: (attribution, modelId, estimate) => {
        const merged = { ...o.attribution, ...normalizeAttribution(attribution, 'check') };
        return budgets.check(merged, modelId, resolver.resolve(modelId, Date.now()).baseModelId, estimate);
      },
    },
    shutdown() {
      closed ??= (async () => {
        await budgets.drain();
        await store.close?.();
        await ledger?.close();
      })();
      return closed;
    },
  };
}
