import type { ServiceInputTypes, ServiceOutputTypes } from '@aws-sdk/client-bedrock-runtime';
import { metrics } from '@opentelemetry/api';
import type { MetricProducer } from '@opentelemetry/sdk-metrics';
import type { MiddlewareStack, Pluggable } from '@smithy/types';
import { BaggageAttribution } from './attribution/baggage.js';
import { attributionFromData, mergeAttribution } from './attribution/normalize.js';
import type { Amounts } from './budgets/amounts.js';
import { Budgets } from './budgets/budgets.js';
import { countTokensEstimator } from './budgets/count-tokens-estimator.js';
import { forbiddingPolicy } from './budgets/policy.js';
import type { BudgetCheck, BudgetStatus } from './budgets/views.js';
import { newInstanceId } from './call.js';
import { resolveConfig, type BedrockFinOpsOptions } from './config.js';
import { OnceReporter } from './diagnostics.js';
import { ConfigurationError } from './errors/configuration-error.js';
import { Breakers } from './fallback/breaker.js';
import { attemptMiddlewareOptions, fallbackAttemptMiddleware, FINOPS_ATTEMPT_MIDDLEWARE } from './fallback/fallback-signal.js';
import { FallbackRouter } from './fallback/router.js';
import { RoutingCounters } from './fallback/routing-counters.js';
import { Utilization } from './fallback/utilization.js';
import { registerBudgetMetrics } from './metrics/budget-metrics.js';
import { InProcessHistograms } from './metrics/in-process-histograms.js';
import { histogramProducer } from './metrics/metric-producer.js';
import { MetricsRecorder } from './metrics/metrics-recorder.js';
import { registerQuotaMetrics } from './metrics/quota-metrics.js';
import { registerRoutingMetrics } from './metrics/routing-metrics.js';
import { fetchMetering } from './fetch/metered-fetch.js';
import { SendingScope } from './fetch/sending.js';
import type { FetchFunction, FetchMeteringOptions } from './fetch/options.js';
import { FINOPS_MIDDLEWARE, finOpsMiddleware, stackEntryOptions } from './middleware.js';
import { ModelResolver } from './model/model-resolver.js';
import { Admission } from './pipeline/admission.js';
import { CallStarter } from './pipeline/begin.js';
import { lateAttempts } from './pipeline/late-attempt.js';
import { Settler } from './pipeline/settle.js';
import { UsageObserver } from './pipeline/observe.js';
import { UsageMeter } from './pipeline/usage-meter.js';
import { Drains } from './usage/drains.js';
import { Pricer } from './pricing/pricer.js';
import { Quotas, type QuotaStatus } from './quotas/quotas.js';
import { VERSION } from './version.js';

/** Budget handles of a plugin instance. */
export interface BudgetHandles {
  /**
   * Every budget counter in its current window: used, reserved, limit, remaining, reset time.
   * When the store cannot be read, the last state this process saw, marked `stale: true`.
   */
  status(): Promise<BudgetStatus[]>;
  /**
   * Would a call with this attribution to this model be admitted now? Nothing is reserved.
   * Merges the plugin's default attribution first. `estimate` is what the call would need
   * (default: one token — "is any room left").
   */
  check(attribution: Readonly<Record<string, string>>, modelId: string, estimate?: Partial<Amounts>): Promise<BudgetCheck>;
}

/** Quota handles of a plugin instance. */
export interface QuotaHandles {
  /** Every quota now: its limit and believed limit, tokens and requests in use (per team with shares), calls waiting. */
  status(): QuotaStatus[];
}

/** What {@link bedrockFinOps} returns: a smithy `Pluggable` plus the plugin's own handles. */
export interface BedrockFinOps extends Pluggable<ServiceInputTypes, ServiceOutputTypes> {
  /** Adds the plugin's middleware to a client's stack (what `client.middlewareStack.use(finops)` calls). */
  applyToStack(stack: MiddlewareStack<ServiceInputTypes, ServiceOutputTypes>): void;
  readonly budgets: BudgetHandles;
  readonly quotas: QuotaHandles;
  /**
   * With `genAiHistograms: 'producer'`: the OpenTelemetry SDK `MetricProducer` that exports the
   * GenAI histograms the plugin aggregates in-process. Register it on your reader:
   * `new PeriodicExportingMetricReader({ exporter, metricProducers: [finops.metricProducer] })`.
   * `undefined` otherwise.
   */
  readonly metricProducer: MetricProducer | undefined;
  /**
   * A `fetch` that meters Bedrock Runtime calls like the SDK plugin does (one record per call,
   * budgets admitted before the request leaves, provisioned spill) and sends everything through
   * the global `fetch`; other URLs pass through untouched. For fetch-based clients such as the
   * Vercel AI SDK: `createAmazonBedrock({ fetch: finops.fetch })`. Recognises requests to
   * `bedrock-runtime.*.amazonaws.com` and requests SigV4-signed for Bedrock; for other hosts see
   * {@link BedrockFinOps.wrapFetch}'s `endpoints`.
   */
  readonly fetch: FetchFunction;
  /**
   * {@link BedrockFinOps.fetch} over your own `baseFetch` (undici's, a tracer's, a test double),
   * with options: `endpoints` (custom hosts whose unsigned requests are Bedrock calls) and
   * `sign` (re-signs a SigV4 request that provisioned spill re-addresses). Invalid options throw
   * a `ConfigurationError`.
   */
  wrapFetch(baseFetch: FetchFunction, options?: FetchMeteringOptions): FetchFunction;
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
  const o = resolveConfig(options);
  const reporter = new OnceReporter();
  const pricer = new Pricer({ overrides: o.priceOverrides, discount: o.discount, serviceTiers: o.serviceTiers, reporter });
  // Each provisioned ARN is priced and extracted as the model it serves, unless `models` says otherwise.
  const aliases = new Map(o.models);
  for (const [arn, config] of o.provisioned) if (!aliases.has(arn)) aliases.set(arn, config.model);
  const resolver = new ModelResolver(aliases, (pricedAs, target, at) => pricer.rateCard(pricedAs, target, at));
  const resolve = (id: string, now: number) => resolver.resolve(id, now);
  const routing = new RoutingCounters();
  const router = new FallbackRouter(o.provisioned, new Breakers(o.cooldownMs), o.fallbackOn, resolve, routing);
  const utilization = new Utilization();
  const budgets = new Budgets(o, {
    pricer,
    reporter,
    maxKeysPerRule: o.maxValuesPerKey,
    // A provisioned call may be served by its fallback: reserve its cost at the fallback's price.
    costModelFor: (call) => {
      const fallback = router.fallbackOf(call.requestedModelId);
      return fallback === undefined ? call.model : resolve(fallback, call.startedAt);
    },
  });
  const e = o.estimator;
  const quotas = new Quotas(o, {
    reporter,
    estimator: e === 'heuristic' ? undefined : e === 'count-tokens' ? (o.countTokensClient === undefined ? undefined : countTokensEstimator(o.countTokensClient, reporter)) : e,
    defaultMaxOutputTokens: o.defaultMaxOutputTokens,
    resolve,
    redirect: (call, from, to, reason) => { router.redirect(call, from, to, reason); },
    forbidden: (subject) => forbiddingPolicy(o.policies, subject)?.name,
  });
  if (quotas.active) {
    // Every throttled attempt (SDK and fetch paths count them here) also tells the quotas it draws on.
    const count = routing.throttle.bind(routing);
    routing.throttle = (model, error) => {
      count(model, error);
      quotas.throttled(model, error, resolve(model, Date.now()).baseModelId);
    };
  }
  const admission = new Admission(budgets.active ? budgets : undefined, reporter, quotas.active ? quotas : undefined);
  const settler = new Settler(pricer, admission, reporter);
  const meter = new UsageMeter(new CallStarter(resolver, o.attribution, reporter, o.baggageKeys === undefined ? undefined : new BaggageAttribution(o.baggageKeys === 'all' ? undefined : o.baggageKeys)), admission, settler, reporter);
  const provider = o.meterProvider;
  const inProcess = o.genAiHistograms === 'producer' ? new InProcessHistograms() : undefined;
  const recorder = new MetricsRecorder({
    meterProvider: provider === undefined ? () => metrics.getMeterProvider() : () => provider,
    version: VERSION,
    maxValuesPerKey: o.maxValuesPerKey,
    histogramAttribution: o.histogramAttribution,
    histograms: o.genAiHistograms,
    inProcess,
    onStart: (m) => {
      registerRoutingMetrics(m, routing, utilization, o.provisioned);
      if (budgets.active) registerBudgetMetrics(m, budgets);
      if (quotas.active) registerQuotaMetrics(m, quotas, o.maxValuesPerKey);
    },
  });
  if (provider !== undefined) recorder.start();

  // Sinks, in order; budgets were settled before them, so status() reflects a call by the time its record is seen.
  if (o.provisioned.size > 0)
    settler.addSink(function utilizationSink({ record }) {
      if (record.modelKind === 'provisioned-model' && record.fallback === undefined)
        utilization.add(record.modelId, record.inputTokens + record.outputTokens + record.cacheReadInputTokens + record.cacheWriteInputTokens, Date.now());
    });
  settler.addSink(function metricsSink(settlement) {
    recorder.record(settlement);
  });
  const ledger = o.ledger;
  if (ledger !== undefined) {
    // The report reads the provisioned commitments (model units, hourly cost) from the ledger's header.
    try {
      if (o.provisioned.size > 0) ledger.describe?.({ provisioned: Object.fromEntries(o.provisioned) });
    } catch (error) {
      reporter.error('ledger-describe', 'the ledger could not record the provisioned commitments', error);
    }
    settler.addSink(function ledgerSink({ record }) {
      ledger.write(record);
    });
  }
  // An async onUsage passes its type: its promise goes to the settler, which reports a rejection (unhandled, it ends the process).
  const onUsage: ((record: Parameters<NonNullable<typeof o.onUsage>>[0]) => unknown) | undefined = o.onUsage;
  if (onUsage !== undefined)
    settler.addSink(function onUsageSink({ record }) {
      return onUsage(record);
    });

  const drains = new Drains(o.drain);
  const observer = new UsageObserver(reporter, resolve, drains);
  const instance = newInstanceId();
  const sending = new SendingScope();
  const middleware = finOpsMiddleware<ServiceInputTypes, ServiceOutputTypes>({ instance, meter, observer, router, propagateToBedrock: o.propagateToBedrock, sending });
  const attemptOptions = attemptMiddlewareOptions(instance);
  // Attempts sent after their call settled (a middleware's background refresh) are metered as calls of their own.
  const attemptMiddleware = fallbackAttemptMiddleware<ServiceInputTypes, ServiceOutputTypes>(instance, routing.throttle.bind(routing), lateAttempts(meter, observer));
  const fetching = fetchMetering({ meter, observer, router, sending });
  let closed: Promise<void> | undefined;

  return {
    applyToStack(stack) {
      // A second instance would replace the first's middleware (same name), silently dropping its budgets.
      const entries = (stack.identify?.() ?? []).map((entry) => entry.split(' ')[0] ?? '');
      // A metering middleware without this instance's hook beside it is another instance's.
      if (entries.includes(FINOPS_MIDDLEWARE.name) && !entries.includes(attemptOptions.name))
        throw new ConfigurationError(
          'middlewareStack',
          "this client already carries another bedrockFinOps instance; apply one instance per client (one instance may serve many clients), or remove the other first with client.middlewareStack.removeByTag('BEDROCK_FINOPS')",
        );
      // Another instance's per-attempt hook left behind (its metering removed by name) would mark
      // the stack as carrying two instances: it goes.
      for (const name of entries) if (name.startsWith(FINOPS_ATTEMPT_MIDDLEWARE.name) && name !== attemptOptions.name) stack.remove(name);
      // Metering, and the per-attempt hook (it also marks the instance); shaped: see stackEntryOptions.
      stack.add(middleware, stackEntryOptions(FINOPS_MIDDLEWARE));
      stack.add(attemptMiddleware, stackEntryOptions(attemptOptions));
    },
    metricProducer: inProcess === undefined ? undefined : histogramProducer(inProcess, VERSION),
    get fetch() {
      return fetching.fetch;
    },
    wrapFetch: (baseFetch, options) => fetching.wrap(baseFetch, options),
    budgets: {
      status: () => budgets.status(),
      check: (attribution, modelId, estimate) => {
        // Merged as a call's attribution is (key cap, exact spelling and label rules), so check() answers for the counter a call would use.
        const merged = mergeAttribution(o.attribution, attributionFromData(attribution));
        return budgets.check(merged, modelId, resolve(modelId, Date.now()).baseModelId, estimate);
      },
    },
    quotas: { status: () => quotas.status() },
    shutdown() {
      closed ??= (async () => {
        // Streams still being drained settle now with what they have (an estimate if their usage has not come).
        drains.stopAll();
        // Calls waiting for quota room are refused (their budget reservations go back), then the quota store closes.
        await quotas.close();
        await budgets.drain();
        await budgets.store.close?.();
        await ledger?.close();
      })();
      return closed;
    },
  };
}
