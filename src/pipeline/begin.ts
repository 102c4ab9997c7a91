import { commandAttribution, currentScopeAttribution } from '../attribution/scope.js';
import type { BaggageAttribution } from '../attribution/baggage.js';
import { EMPTY_ATTRIBUTION, mergeAttribution } from '../attribution/normalize.js';
import type { Call, CallModel } from '../call.js';
import type { OnceReporter } from '../diagnostics.js';
import type { ModelResolver } from '../model/model-resolver.js';
import type { OperationInfo } from '../model/operations.js';
import type { RateCard } from '../pricing/rate-card.js';
import type { Attribution } from '../record.js';
import { detached } from '../detached.js';
import { asObject } from '../usage/json.js';
import { MAX_MODEL_ID_LENGTH } from '../usage/served.js';

/** The service tier a request asks for: Converse `serviceTier.type`, InvokeModel `serviceTier`. */
export function requestedServiceTier(input: unknown): string | undefined {
  // Named reads (every call): a generic path reader costs more code than the two reads.
  const tier = asObject(input)?.serviceTier;
  if (typeof tier === 'string') return tier;
  const type = asObject(tier)?.type;
  return typeof type === 'string' ? type : undefined;
}

/** The latency a request asks for: Converse `performanceConfig.latency`, InvokeModel `performanceConfigLatency`. */
export function requestedLatency(input: unknown): string | undefined {
  const i = asObject(input);
  if (i === undefined) return undefined;
  const latency = asObject(i.performanceConfig)?.latency ?? i.performanceConfigLatency;
  return latency === 'optimized' ? 'optimized' : undefined;
}

/** Begins a call: resolves its model (cached per id) and its attribution (defaults ⊕ scope ⊕ per-command override). */
export class CallStarter {
  // Merges per scope (defaults fixed): one lookup per call, in front of mergeAttribution's own
  // cache by pair (two lookups), since every scoped call asks.
  private readonly scopeCache = new WeakMap<Attribution, Attribution>();

  private readonly baggageCache = new WeakMap<Attribution, Attribution>();

  constructor(
    private readonly resolver: ModelResolver<RateCard | undefined>,
    private readonly defaults: Attribution,
    private readonly reporter: OnceReporter,
    private readonly baggage?: BaggageAttribution,
  ) {}

  /** Plugin defaults < OTel baggage (when read) < `withAttribution` scope < per-command override. */
  attributionFor(args: object | undefined): Attribution {
    let attribution = this.defaults;
    if (this.baggage !== undefined) {
      const fromBaggage = this.baggage.current();
      if (fromBaggage !== EMPTY_ATTRIBUTION) {
        let merged = this.baggageCache.get(fromBaggage);
        if (merged === undefined) {
          merged = mergeAttribution(this.defaults, fromBaggage);
          this.baggageCache.set(fromBaggage, merged);
        }
        attribution = merged;
      }
    }
    const scope = currentScopeAttribution();
    if (scope !== undefined) {
      if (attribution === this.defaults) {
        let merged = this.scopeCache.get(scope);
        if (merged === undefined) {
          merged = mergeAttribution(this.defaults, scope);
          this.scopeCache.set(scope, merged);
        }
        attribution = merged;
      } else attribution = mergeAttribution(attribution, scope);
    }
    const override = args === undefined ? undefined : commandAttribution(args);
    return override === undefined ? attribution : mergeAttribution(attribution, override);
  }

  resolve(modelId: string, now: number): CallModel {
    return this.resolver.resolve(modelId, now);
  }

  /**
   * A new call for `modelId`; `args` is the SDK command (for a per-command attribution), if any;
   * `input` its input, read for the service tier and latency it asks for.
   */
  begin(info: OperationInfo, sentId: string, args: object | undefined, input?: unknown): Call {
    const now = Date.now();
    // The caller's model id is untrusted (a gateway passes its users' on): one longer than any Bedrock accepts is
    // recorded, resolved and counted as its first 2,048 characters (a copy: a cut is a view of the whole). The
    // request is sent as it is (Bedrock refuses it); a megabyte never reaches records, metric series or caches.
    const modelId = sentId.length <= MAX_MODEL_ID_LENGTH ? sentId : detached(sentId.slice(0, MAX_MODEL_ID_LENGTH));
    const model = this.resolver.resolve(modelId, now);
    if (model.ref.kind === 'unknown')
      this.reporter.warn(`unknown-model:${modelId.slice(0, 200)}`, `model id "${modelId.slice(0, 200)}" is not a Bedrock model id or ARN this library knows; metering it without a model family`);
    return freshCall(info, modelId, this.attributionFor(args), modelId, model, input, now);
  }
}

/**
 * A call as it begins: who asked for which model, and nothing sent, seen or settled yet. One
 * literal for every call (one object shape), whether begun by the middleware or the fetch path or
 * metered late (an attempt sent after its call settled).
 */
export function freshCall(info: OperationInfo, requestedModelId: string, attribution: Attribution, modelId: string, model: CallModel, input: unknown, now: number): Call {
  return {
    info,
    requestedModelId,
    attribution,
    startedAt: now,
    t0: performance.now(),
    modelId,
    model,
    fallback: undefined,
    serverAddress: undefined,
    serverPort: 443,
    requestId: undefined,
    serviceTier: requestedServiceTier(input),
    performanceLatency: requestedLatency(input),
    firstEventAt: -1,
    attempt: 'none',
    settled: false,
    maxTokensOf: undefined,
    maxTokens: undefined,
  };
}
