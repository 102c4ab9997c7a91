import type { MeterProvider } from '@opentelemetry/api';
import { normalizeAttribution } from './attribution/attribution.js';
import { parseModelId } from './model/model-id.js';
import { ConfigurationError } from './errors/configuration-error.js';
import type { Attribution, UsageRecord } from './record.js';
import type { BudgetEvent } from './budgets/budget-manager.js';
import type { InputEstimator } from './budgets/estimate.js';
import { compilePolicies, type CompiledPolicy, type ModelPolicy } from './budgets/policy.js';
import { compileRules, type BudgetRule, type CompiledRule } from './budgets/rule.js';
import type { BudgetStore } from './budgets/store.js';
import type { CountTokensClient } from './budgets/count-tokens-estimator.js';
import type { UsageLedger } from './ledger/ledger.js';
import { DEFAULT_SERVICE_TIER_MULTIPLIERS, type ModelPriceOverride, type ServiceTierName } from './pricing/pricer.js';

/** How calls are priced. */
export interface PricingOptions {
  /**
   * Your own prices, USD per million tokens, keyed by model id, inference profile id or ARN
   * (or the base model id). They win over the bundled catalog.
   * @defaultValue `{}`
   */
  readonly overrides?: Readonly<Record<string, ModelPriceOverride>>;
  /**
   * A fraction taken off every price (an enterprise discount), e.g. `0.12` for 12% off.
   * @defaultValue `0`
   */
  readonly discount?: number;
  /**
   * Multipliers per service tier the response reports.
   * @defaultValue `{ default: 1, priority: 1.75, flex: 0.5, reserved: 1 }`
   */
  readonly serviceTiers?: Readonly<Partial<Record<ServiceTierName, number>>>;
}

/** A provisioned-throughput model: what it serves and where to send calls it cannot take. */
export interface ProvisionedModelConfig {
  /** The model it serves (a foundation model id or inference profile id): used for pricing and the on-demand equivalent. */
  readonly model: string;
  /** The on-demand model id or inference profile to re-issue a call to when the provisioned model answers 429. */
  readonly fallback?: string;
  /** Purchased model units (capacity), for utilization metrics. */
  readonly modelUnits?: number;
  /** What the commitment costs per hour, for break-even reporting. */
  readonly hourlyCostUsd?: number;
}

/** Options of {@link bedrockFinOps}. Everything is optional. */
export interface BedrockFinOpsOptions {
  /**
   * Attribution given to every call through this plugin; `withAttribution` scopes and
   * `attribute(command, …)` override it key by key.
   * @defaultValue `{}`
   */
  readonly attribution?: Readonly<Record<string, string>>;
  /**
   * Called once per metered call, after it settles (for streams: when the stream ends, fails or
   * is abandoned). Runs inline, before `send()` resolves for non-streaming calls: keep it cheap.
   * An exception it throws is reported through OTel `diag` and never reaches the caller.
   */
  readonly onUsage?: (record: UsageRecord) => void;
  /**
   * Maps a model id or ARN (application inference profile, custom or imported model) to the
   * model id to treat it as for pricing and usage extraction.
   * @defaultValue `{}`
   */
  readonly models?: Readonly<Record<string, string>>;
  /**
   * Provisioned-throughput models by ARN.
   * @defaultValue `{}`
   */
  readonly provisioned?: Readonly<Record<string, ProvisionedModelConfig>>;
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
   * 15 buckets) and per-call recording cost.
   * @defaultValue `true`
   */
  readonly histogramAttribution?: boolean;
  /**
   * Whether to record the GenAI semantic-convention histograms (`gen_ai.client.token.usage`,
   * `gen_ai.client.operation.duration`, `gen_ai.client.operation.time_to_first_chunk`). They are
   * the plugin's largest per-call cost (each SDK histogram record hashes its attributes); the
   * `bedrock_finops.*` counters, summed in-process, stay either way.
   * @defaultValue `true`
   */
  readonly genAiHistograms?: boolean;
  /**
   * Also write attribution into each request's `requestMetadata` (Converse / ConverseStream
   * field, InvokeModel header), so model invocation logs carry the same tags. Caller-supplied
   * pairs win; Bedrock's limits are applied (16 pairs, 256 characters, its character set).
   * @defaultValue `false`
   */
  readonly propagateToBedrock?: boolean;
  /** Price overrides, discount and service-tier multipliers. */
  readonly pricing?: PricingOptions;
  /**
   * Token and cost budgets, enforced before each call is sent.
   * @defaultValue `[]`
   */
  readonly budgets?: readonly BudgetRule[];
  /**
   * Model policies: which models matched calls may use.
   * @defaultValue `[]`
   */
  readonly policies?: readonly ModelPolicy[];
  /**
   * Where budget counters live. Use `new RedisBudgetStore({ client })` to share budgets across processes.
   * @defaultValue an in-memory store (this process only)
   */
  readonly budgetStore?: BudgetStore;
  /**
   * How a call's input tokens are estimated for admission: `'heuristic'` (characters / 4, see
   * README), `'count-tokens'` (Bedrock's CountTokens API, exact; needs `countTokensClient`), or
   * your own function.
   * @defaultValue `'heuristic'`
   */
  readonly estimator?: 'heuristic' | 'count-tokens' | InputEstimator;
  /** The client `estimator: 'count-tokens'` sends CountTokens with (any BedrockRuntimeClient). */
  readonly countTokensClient?: CountTokensClient;
  /**
   * Output tokens reserved for a call whose request sets no max tokens.
   * @defaultValue `4096`
   */
  readonly defaultMaxOutputTokens?: number;
  /**
   * How long a reservation holds if its call never settles (a crashed process), in ms.
   * @defaultValue `900000` (15 minutes)
   */
  readonly reservationLeaseMs?: number;
  /**
   * What to do when the budget store fails: `'allow'` sends the call without a budget check
   * (availability first), `'deny'` rejects it with `BudgetExceededError`.
   * @defaultValue `'allow'`
   */
  readonly onStoreError?: 'allow' | 'deny';
  /** Called for budget threshold crossings, rejections, warn-budget overruns and store errors. */
  readonly onBudgetEvent?: (event: BudgetEvent) => void;
  /** How provisioned models spill to their `fallback`. */
  readonly fallback?: FallbackOptions;
  /**
   * Where every record is also written, for `npx bedrock-finops report`: `jsonlLedger({ path })`
   * or `await sqliteLedger({ path })`. Closed by `finops.shutdown()`.
   */
  readonly ledger?: UsageLedger;
}

/** How provisioned throughput spills to on-demand. */
export interface FallbackOptions {
  /**
   * Exception names of a provisioned attempt that re-issue the call against its fallback.
   * @defaultValue `['ThrottlingException', 'ModelNotReadyException']`
   */
  readonly on?: readonly string[];
  /**
   * After a provisioned model throttles, calls go straight to its fallback for this long; then
   * one probe call tries the provisioned model again.
   * @defaultValue `10000`
   */
  readonly cooldownMs?: number;
}

/** Options after validation, in the shapes the plugin uses. */
export interface ResolvedOptions {
  readonly attribution: Attribution;
  readonly onUsage: ((record: UsageRecord) => void) | undefined;
  /** Id/ARN → model to price and extract as (`models` plus each provisioned ARN's `model`). */
  readonly aliases: ReadonlyMap<string, string>;
  readonly provisioned: ReadonlyMap<string, ProvisionedModelConfig>;
  readonly meterProvider: MeterProvider | undefined;
  readonly maxValuesPerKey: number;
  readonly histogramAttribution: boolean;
  readonly genAiHistograms: boolean;
  readonly propagateToBedrock: boolean;
  readonly priceOverrides: ReadonlyMap<string, ModelPriceOverride>;
  readonly discount: number;
  readonly serviceTiers: Readonly<Record<string, number>>;
  readonly rules: readonly CompiledRule[];
  readonly policies: readonly CompiledPolicy[];
  readonly budgetStore: BudgetStore | undefined;
  readonly estimator: 'heuristic' | 'count-tokens' | InputEstimator;
  readonly countTokensClient: CountTokensClient | undefined;
  readonly defaultMaxOutputTokens: number;
  readonly reservationLeaseMs: number;
  readonly onStoreError: 'allow' | 'deny';
  readonly onBudgetEvent: ((event: BudgetEvent) => void) | undefined;
  readonly fallbackOn: ReadonlySet<string>;
  readonly cooldownMs: number;
  readonly ledger: UsageLedger | undefined;
}

function nonNegative(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new ConfigurationError(field, 'must be a finite number ≥ 0');
  return value;
}

function resolvePricing(p: PricingOptions | undefined): Pick<ResolvedOptions, 'priceOverrides' | 'discount' | 'serviceTiers'> {
  const priceOverrides = new Map<string, ModelPriceOverride>();
  if (p === undefined) return { priceOverrides, discount: 0, serviceTiers: DEFAULT_SERVICE_TIER_MULTIPLIERS };
  assertObject(p, 'pricing');
  if (p.overrides !== undefined) {
    assertObject(p.overrides, 'pricing.overrides');
    for (const [id, price] of Object.entries(p.overrides)) {
      const field = `pricing.overrides["${id}"]`;
      assertObject(price, field);
      nonNegative(price.input, `${field}.input`);
      for (const k of ['output', 'cacheRead', 'cacheWrite', 'cacheWrite1h'] as const) if (price[k] !== undefined) nonNegative(price[k], `${field}.${k}`);
      priceOverrides.set(id, price as unknown as ModelPriceOverride);
    }
  }
  const discount = p.discount === undefined ? 0 : nonNegative(p.discount, 'pricing.discount');
  if (discount >= 1) throw new ConfigurationError('pricing.discount', 'must be below 1 (it is the fraction taken off, e.g. 0.12)');
  const serviceTiers: Record<string, number> = { ...DEFAULT_SERVICE_TIER_MULTIPLIERS };
  if (p.serviceTiers !== undefined) {
    assertObject(p.serviceTiers, 'pricing.serviceTiers');
    for (const [tier, m] of Object.entries(p.serviceTiers)) serviceTiers[tier] = nonNegative(m, `pricing.serviceTiers.${tier}`);
  }
  return { priceOverrides, discount, serviceTiers };
}

function assertObject(value: unknown, field: string): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigurationError(field, 'must be an object');
}

function assertModelId(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) throw new ConfigurationError(field, 'must be a non-empty model id');
}

function optionalPositive(value: unknown, field: string): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new ConfigurationError(field, 'must be a positive number');
}

/** Validates options; throws {@link ConfigurationError} naming the field at fault. */
export function resolveOptions(options: BedrockFinOpsOptions | undefined): ResolvedOptions {
  const o: BedrockFinOpsOptions = options ?? {};
  if (typeof o !== 'object' || Array.isArray(o)) throw new ConfigurationError('options', 'must be an object');
  const attribution = normalizeAttribution(o.attribution, 'attribution');
  if (o.onUsage !== undefined && typeof o.onUsage !== 'function') throw new ConfigurationError('onUsage', 'must be a function');

  const aliases = new Map<string, string>();
  if (o.models !== undefined) {
    assertObject(o.models, 'models');
    for (const [id, target] of Object.entries(o.models)) {
      assertModelId(target, `models["${id}"]`);
      aliases.set(id, target);
    }
  }

  const provisioned = new Map<string, ProvisionedModelConfig>();
  if (o.provisioned !== undefined) {
    assertObject(o.provisioned, 'provisioned');
    for (const [arn, config] of Object.entries(o.provisioned)) {
      const field = `provisioned["${arn}"]`;
      if (parseModelId(arn).kind !== 'provisioned-model')
        throw new ConfigurationError(field, 'the key must be a provisioned-model ARN (arn:aws:bedrock:REGION:ACCOUNT:provisioned-model/ID)');
      assertObject(config, field);
      assertModelId(config.model, `${field}.model`);
      if (config.fallback !== undefined) assertModelId(config.fallback, `${field}.fallback`);
      optionalPositive(config.modelUnits, `${field}.modelUnits`);
      optionalPositive(config.hourlyCostUsd, `${field}.hourlyCostUsd`);
      provisioned.set(arn, config);
      if (!aliases.has(arn)) aliases.set(arn, config.model);
    }
  }

  const meterProvider = o.meterProvider;
  if (meterProvider !== undefined && typeof (meterProvider as { getMeter?: unknown }).getMeter !== 'function')
    throw new ConfigurationError('meterProvider', 'must be an OpenTelemetry MeterProvider (with getMeter)');

  const maxValuesPerKey = o.maxValuesPerKey ?? 100;
  if (!Number.isInteger(maxValuesPerKey) || maxValuesPerKey < 1) throw new ConfigurationError('maxValuesPerKey', 'must be a positive integer');
  const histogramAttribution = o.histogramAttribution ?? true;
  if (typeof histogramAttribution !== 'boolean') throw new ConfigurationError('histogramAttribution', 'must be a boolean');
  const genAiHistograms = o.genAiHistograms ?? true;
  if (typeof genAiHistograms !== 'boolean') throw new ConfigurationError('genAiHistograms', 'must be a boolean');
  const propagateToBedrock = o.propagateToBedrock ?? false;
  if (typeof propagateToBedrock !== 'boolean') throw new ConfigurationError('propagateToBedrock', 'must be a boolean');

  return {
    attribution,
    onUsage: o.onUsage,
    aliases,
    provisioned,
    meterProvider,
    maxValuesPerKey,
    histogramAttribution,
    genAiHistograms,
    propagateToBedrock,
    ...resolvePricing(o.pricing),
    ...resolveBudgets(o),
    ...resolveFallback(o.fallback),
    ledger: resolveLedger(o.ledger),
  };
}

function resolveLedger(ledger: unknown): UsageLedger | undefined {
  if (ledger === undefined) return undefined;
  const l = ledger as Partial<UsageLedger>;
  if (typeof l.write !== 'function' || typeof l.close !== 'function') throw new ConfigurationError('ledger', 'must be a UsageLedger (jsonlLedger(...) or await sqliteLedger(...))');
  return ledger as UsageLedger;
}

function resolveFallback(f: FallbackOptions | undefined): Pick<ResolvedOptions, 'fallbackOn' | 'cooldownMs'> {
  if (f === undefined) return { fallbackOn: new Set(['ThrottlingException', 'ModelNotReadyException']), cooldownMs: 10_000 };
  assertObject(f, 'fallback');
  const on = f.on ?? ['ThrottlingException', 'ModelNotReadyException'];
  if (!Array.isArray(on) || on.some((n) => typeof n !== 'string' || n.length === 0)) throw new ConfigurationError('fallback.on', 'must be a list of exception names');
  return { fallbackOn: new Set(on), cooldownMs: f.cooldownMs === undefined ? 10_000 : nonNegative(f.cooldownMs, 'fallback.cooldownMs') };
}

function positiveInteger(value: unknown, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw new ConfigurationError(field, 'must be a positive integer');
  return value;
}

function resolveBudgets(o: BedrockFinOpsOptions): Pick<
  ResolvedOptions,
  'rules' | 'policies' | 'budgetStore' | 'estimator' | 'countTokensClient' | 'defaultMaxOutputTokens' | 'reservationLeaseMs' | 'onStoreError' | 'onBudgetEvent'
> {
  const rules = compileRules(o.budgets);
  const policies = compilePolicies(o.policies);
  const store = o.budgetStore;
  if (store !== undefined && (typeof store !== 'object' || typeof store.reserve !== 'function' || typeof store.commit !== 'function' || typeof store.read !== 'function'))
    throw new ConfigurationError('budgetStore', 'must implement reserve, commit and read (see BudgetStore)');
  const estimator = o.estimator ?? 'heuristic';
  if (estimator !== 'heuristic' && estimator !== 'count-tokens' && typeof estimator !== 'function')
    throw new ConfigurationError('estimator', "must be 'heuristic', 'count-tokens' or a function");
  if (estimator === 'count-tokens' && (o.countTokensClient === undefined || typeof o.countTokensClient.send !== 'function'))
    throw new ConfigurationError('countTokensClient', "is required with estimator 'count-tokens' (pass a BedrockRuntimeClient)");
  const onStoreError = o.onStoreError ?? 'allow';
  if (onStoreError !== 'allow' && onStoreError !== 'deny') throw new ConfigurationError('onStoreError', "must be 'allow' or 'deny'");
  if (o.onBudgetEvent !== undefined && typeof o.onBudgetEvent !== 'function') throw new ConfigurationError('onBudgetEvent', 'must be a function');
  return {
    rules,
    policies,
    budgetStore: store,
    estimator,
    countTokensClient: o.countTokensClient,
    defaultMaxOutputTokens: positiveInteger(o.defaultMaxOutputTokens, 4096, 'defaultMaxOutputTokens'),
    reservationLeaseMs: positiveInteger(o.reservationLeaseMs, 900_000, 'reservationLeaseMs'),
    onStoreError,
    onBudgetEvent: o.onBudgetEvent,
  };
}
