import { Call, type CallSettler, type Outcome } from './call/call.js';
import { commandAttribution, currentScopeAttribution, mergeAttribution } from './attribution/attribution.js';
import type { ModelResolver } from './model/model-resolver.js';
import type { Pricer } from './pricing/pricer.js';
import type { RateCard } from './pricing/rate-card.js';
import type { OperationInfo } from './model/operations.js';
import { OnceReporter } from './diagnostics.js';
import { errorName } from './errors/error-name.js';
import type { Attribution, UsageRecord } from './record.js';
import { BidiUsageTracker } from './usage/bidi-usage.js';
import { ChunkUsageTracker } from './usage/chunk-usage.js';
import { usageFromConverse } from './usage/converse.js';
import { ConverseStreamUsageTracker } from './usage/converse-stream-usage.js';
import { usageFromInvokeModel, type ObservedUsage } from './usage/invoke-model.js';
import { observeStream, type StreamEnd, type StreamObserver } from './usage/observed-stream.js';
import { toTokenUsage, ZERO_USAGE } from './usage/token-usage.js';
import { parseInvokeRequestMetadata, requestMetadataFor } from './attribution/request-metadata.js';

/** Something that receives every settled record (metrics, budgets, the user's `onUsage`). */
export type RecordSink = (record: UsageRecord, call: Call) => void;

interface Tracker {
  add(event: unknown): void;
  result(provider: string | undefined): ObservedUsage | undefined;
  /** A service tier the stream itself reported (ConverseStream's `metadata` event). */
  readonly serviceTier?: string | undefined;
}

const END_OUTCOME: Readonly<Record<StreamEnd, Outcome>> = {
  completed: 'success',
  failed: 'error',
  abandoned: 'abandoned',
};

/** Connects a wrapped stream to its call. */
class StreamCallObserver implements StreamObserver<unknown> {
  constructor(
    private readonly call: Call,
    private readonly tracker: Tracker,
    private readonly reporter: OnceReporter,
  ) {}

  event(value: unknown): void {
    try {
      this.tracker.add(value);
    } catch (error) {
      this.reporter.error('stream-event', 'could not read a stream event for usage', error);
    }
  }

  end(how: StreamEnd, error: unknown): void {
    let observed: ObservedUsage | undefined;
    try {
      observed = this.tracker.result(this.call.model.provider);
      if (this.tracker.serviceTier !== undefined) this.call.serviceTier = this.tracker.serviceTier;
    } catch (e) {
      this.reporter.error('stream-end', 'could not read stream usage', e);
    }
    this.call.settle(END_OUTCOME[how], observed, error);
  }
}

/** The service tier on an SDK output: InvokeModel's header string, or Converse's `{ type }`. */
function serviceTierOf(output: Record<string, unknown> | undefined): string | undefined {
  const tier = output?.serviceTier;
  if (typeof tier === 'string') return tier;
  const type = (tier as { type?: unknown } | undefined)?.type;
  return typeof type === 'string' ? type : undefined;
}

function metadataRequestId(output: unknown): string | undefined {
  const id = (output as { $metadata?: { requestId?: unknown } } | undefined)?.$metadata?.requestId;
  return typeof id === 'string' ? id : undefined;
}

/**
 * The metering pipeline shared by every client the plugin is applied to: begins a call
 * (model, attribution), observes its output, and settles it into one record for every sink.
 */
export class Meter implements CallSettler {
  private readonly sinks: RecordSink[] = [];
  private readonly scopeCache = new WeakMap<Attribution, Attribution>();

  constructor(
    private readonly resolver: ModelResolver<RateCard | undefined>,
    private readonly defaults: Attribution,
    private readonly pricer: Pricer,
    private readonly propagate: boolean,
    readonly reporter: OnceReporter,
  ) {}

  /**
   * The arguments to send: the caller's own, or (with `propagateToBedrock`) a copy whose input
   * also carries the attribution as `requestMetadata`. The caller's input object is never changed.
   */
  argsToSend<A extends { readonly input: unknown }>(call: Call, args: A): A {
    if (!this.propagate || call.info.delivery === 'bidi-stream') return args;
    try {
      const input = args.input as Record<string, unknown>;
      const isInvoke = call.info.delivery === 'invoke' || call.info.delivery === 'invoke-stream';
      const existing = isInvoke ? parseInvokeRequestMetadata(input.requestMetadata) : input.requestMetadata;
      const merged = requestMetadataFor(call.attribution, existing);
      if (merged === undefined) return args;
      return { ...args, input: { ...input, requestMetadata: isInvoke ? JSON.stringify(merged) : merged } };
    } catch (error) {
      this.reporter.error('propagate', 'could not add request metadata (sent without it)', error);
      return args;
    }
  }

  addSink(sink: RecordSink): void {
    this.sinks.push(sink);
  }

  /** Plugin defaults < `withAttribution` scope < per-command override. */
  attributionFor(args: object): Attribution {
    let attribution = this.defaults;
    const scope = currentScopeAttribution();
    if (scope !== undefined) {
      let merged = this.scopeCache.get(scope);
      if (merged === undefined) {
        merged = mergeAttribution(this.defaults, scope);
        this.scopeCache.set(scope, merged);
      }
      attribution = merged;
    }
    const override = commandAttribution(args);
    return override === undefined ? attribution : mergeAttribution(attribution, override);
  }

  /** Starts metering one operation. */
  begin(info: OperationInfo, args: { readonly input: unknown }): Call {
    const input = args.input as { modelId?: unknown } | undefined;
    const modelId = typeof input?.modelId === 'string' ? input.modelId : '';
    const now = Date.now();
    const model = this.resolver.resolve(modelId, now);
    if (model.ref.kind === 'unknown')
      this.reporter.warn(`unknown-model:${modelId}`, `model id "${modelId.slice(0, 200)}" is not a Bedrock model id or ARN this library knows; metering it without a model family`);
    return new Call(
      info,
      modelId,
      model,
      this.attributionFor(args),
      now,
      performance.now(),
      this,
    );
  }

  /** Reads usage from a finished response, or wraps its stream so usage is read as it passes. */
  observe(call: Call, result: { readonly output: unknown; readonly response?: unknown }): void {
    const output = result.output as Record<string, unknown> | undefined;
    call.requestId = metadataRequestId(output);
    call.serviceTier = serviceTierOf(output);
    switch (call.info.delivery) {
      case 'converse': {
        const usage = usageFromConverse(output?.usage);
        call.settle('success', usage === undefined ? undefined : { usage, source: 'usage' }, undefined);
        return;
      }
      case 'invoke': {
        const headers = (result.response as { headers?: Record<string, string> } | undefined)?.headers;
        const body = output?.body instanceof Uint8Array ? output.body : undefined;
        call.settle('success', usageFromInvokeModel(headers, body, call.model.provider), undefined);
        return;
      }
      case 'converse-stream':
        this.wrap(call, output, 'stream', new ConverseStreamUsageTracker());
        return;
      case 'invoke-stream':
        this.wrap(call, output, 'body', new ChunkUsageTracker());
        return;
      case 'bidi-stream':
        this.wrap(call, output, 'body', new BidiUsageTracker());
        return;
    }
  }

  private wrap(call: Call, output: Record<string, unknown> | undefined, key: string, tracker: Tracker): void {
    // The SDK resolves send() for event streams only once the first event has arrived.
    call.firstEventAt = performance.now();
    const stream = output?.[key];
    if (output === undefined || typeof stream !== 'object' || stream === null || !(Symbol.asyncIterator in stream)) {
      call.settle('success', undefined, undefined);
      return;
    }
    output[key] = observeStream(stream as AsyncIterable<unknown>, new StreamCallObserver(call, tracker, this.reporter));
  }

  settle(call: Call, outcome: Outcome, observed: ObservedUsage | undefined, error: unknown): void {
    const now = performance.now();
    if (observed === undefined && outcome === 'success')
      this.reporter.warn(
        `no-usage:${call.info.operation}:${call.modelId}`,
        `${call.info.operation} to ${call.modelId} returned no usage that could be read; recorded with zero tokens (usageSource "none")`,
      );
    const usage = observed === undefined ? ZERO_USAGE : toTokenUsage(observed.usage);
    const record: {
      -readonly [K in keyof UsageRecord]: UsageRecord[K];
    } = {
      operation: call.info.operation,
      requestedModelId: call.requestedModelId,
      modelId: call.modelId,
      modelKind: call.model.ref.kind,
      baseModelId: call.model.baseModelId,
      attribution: call.attribution,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      cacheReadInputTokens: usage.cacheReadInputTokens,
      cacheWriteInputTokens: usage.cacheWriteInputTokens,
      cacheWrite1hInputTokens: usage.cacheWrite1hInputTokens,
      serviceTier: call.serviceTier,
      usageSource: observed === undefined ? 'none' : observed.source,
      costUsd: undefined,
      onDemandEquivalentUsd: undefined,
      durationMs: now - call.t0,
      timeToFirstChunkMs: call.firstEventAt < 0 ? undefined : call.firstEventAt - call.t0,
      startedAt: call.startedAt,
      fallback: call.fallback,
      outcome,
      error: outcome === 'error' ? errorName(error) : undefined,
      requestId: call.requestId ?? requestIdOfError(error),
    };
    try {
      const model = call.model;
      const cost = this.pricer.price(model.price, model.pricedAs, model.ref.kind === 'provisioned-model', usage, call.serviceTier);
      record.costUsd = cost.costUsd;
      record.onDemandEquivalentUsd = cost.onDemandEquivalentUsd;
    } catch (e) {
      this.reporter.error('cost', 'pricing failed (the record has no cost)', e);
    }
    for (const sink of this.sinks) {
      try {
        sink(record, call);
      } catch (e) {
        this.reporter.error(`sink:${sink.name}`, 'a usage sink threw (the call is unaffected)', e);
      }
    }
  }
}

function requestIdOfError(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? metadataRequestId(error) : undefined;
}
