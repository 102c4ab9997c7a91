import type { InitializeHandler, InitializeHandlerArguments, InitializeHandlerOutput, MetadataBearer } from '@smithy/types';
import type { Call } from '../call/call.js';
import type { ModelResolver } from '../model/model-resolver.js';
import type { ProvisionedModelConfig } from '../options.js';
import type { RateCard } from '../pricing/rate-card.js';
import type { Breakers } from './breaker.js';
import { FALLBACK_ON, FallbackSignal } from './fallback-signal.js';

const MAX_SERIES = 1000;

/** What routing did, for metrics: fallbacks by from / to / reason, throttled attempts by model and error. */
export class RoutingCounters {
  readonly fallbacks = new Map<string, { from: string; to: string; reason: string; count: number }>();
  readonly throttles = new Map<string, { model: string; error: string; count: number }>();

  fallback(from: string, to: string, reason: string): void {
    const key = `${from}\u0001${to}\u0001${reason}`;
    const e = this.fallbacks.get(key);
    if (e !== undefined) e.count++;
    else if (this.fallbacks.size < MAX_SERIES) this.fallbacks.set(key, { from, to, reason, count: 1 });
  }

  throttle(model: string, error: string): void {
    const key = `${model}\u0001${error}`;
    const e = this.throttles.get(key);
    if (e !== undefined) e.count++;
    else if (this.throttles.size < MAX_SERIES) this.throttles.set(key, { model, error, count: 1 });
  }
}

/**
 * Sends a call, spilling provisioned throughput to on-demand: a provisioned model with a
 * `fallback` gets one attempt (its 429 is not retried by the SDK); on a throttle, or while its
 * breaker is open, the call is re-issued once against the fallback with the same input. The
 * budget reservation made before routing is carried over; the record says what served it.
 */
export class FallbackRouter {
  constructor(
    private readonly provisioned: ReadonlyMap<string, ProvisionedModelConfig>,
    private readonly breakers: Breakers,
    private readonly fallbackOn: ReadonlySet<string>,
    private readonly resolver: ModelResolver<RateCard | undefined>,
    readonly counters: RoutingCounters,
  ) {}

  /** The on-demand fallback of a provisioned model id, if it has one. */
  fallbackOf(modelId: string): string | undefined {
    return this.provisioned.get(modelId)?.fallback;
  }

  send<Input extends object, Output extends MetadataBearer>(
    call: Call,
    args: InitializeHandlerArguments<Input>,
    next: InitializeHandler<Input, Output>,
  ): Promise<InitializeHandlerOutput<Output>> {
    const fallback = this.provisioned.size === 0 ? undefined : this.fallbackOf(call.requestedModelId);
    // Most calls: no routing, and no extra async layer.
    if (fallback === undefined) return next(args);
    return this.route(call, args, next, fallback);
  }

  private async route<Input extends object, Output extends MetadataBearer>(
    call: Call,
    args: InitializeHandlerArguments<Input>,
    next: InitializeHandler<Input, Output>,
    fallback: string,
  ): Promise<InitializeHandlerOutput<Output>> {
    const arn = call.requestedModelId;
    if (!this.breakers.tryProvisioned(arn, Date.now())) return this.reissue(call, args, next, arn, fallback, 'breaker-open');
    let result: InitializeHandlerOutput<Output>;
    try {
      result = await next({ ...args, [FALLBACK_ON]: this.fallbackOn } as InitializeHandlerArguments<Input>);
    } catch (error) {
      if (!(error instanceof FallbackSignal)) {
        this.breakers.released(arn);
        throw error;
      }
      this.breakers.throttled(arn, Date.now());
      return this.reissue(call, args, next, arn, fallback, error.reason);
    }
    this.breakers.succeeded(arn);
    return result;
  }

  private reissue<Input extends object, Output extends MetadataBearer>(
    call: Call,
    args: InitializeHandlerArguments<Input>,
    next: InitializeHandler<Input, Output>,
    from: string,
    to: string,
    reason: string,
  ): Promise<InitializeHandlerOutput<Output>> {
    call.modelId = to;
    call.model = this.resolver.resolve(to, Date.now());
    call.fallback = { from, reason };
    this.counters.fallback(from, to, reason);
    return next({ ...args, input: { ...args.input, modelId: to } });
  }
}
