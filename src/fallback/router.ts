import type { InitializeHandler, InitializeHandlerArguments, InitializeHandlerOutput, MetadataBearer } from '@smithy/types';
import type { Call, CallModel } from '../call.js';
import type { ProvisionedModelConfig } from './config.js';
import type { Breakers } from './breaker.js';
import { FALLBACK_ON, FallbackSignal } from './fallback-signal.js';
import type { RoutingCounters } from './routing-counters.js';

/**
 * Sends a call, spilling provisioned throughput to on-demand: a provisioned model with a
 * `fallback` gets one attempt (its 429 is not retried by the SDK); on a throttle, or while its
 * breaker is open, the call is re-issued once against the fallback with the same input. The
 * budget reservation made before routing is carried over; the record says what served it.
 */
export class FallbackRouter {
  constructor(
    private readonly provisioned: ReadonlyMap<string, ProvisionedModelConfig>,
    readonly breakers: Breakers,
    readonly fallbackOn: ReadonlySet<string>,
    private readonly resolve: (modelId: string, now: number) => CallModel,
    readonly counters: RoutingCounters,
  ) {}

  /** The on-demand fallback of a provisioned model id, if it has one. */
  fallbackOf(modelId: string): string | undefined {
    return this.provisioned.get(modelId)?.fallback;
  }

  /** Points `call` at its on-demand fallback and counts the fallback (the SDK and fetch paths both re-issue this way). */
  redirect(call: Call, from: string, to: string, reason: string): void {
    call.modelId = to;
    call.model = this.resolve(to, Date.now());
    call.fallback = Object.freeze({ from, reason });
    this.counters.fallback(from, to, reason);
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
    this.redirect(call, from, to, reason);
    return next({ ...args, input: { ...args.input, modelId: to } });
  }
}
