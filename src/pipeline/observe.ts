import type { Call, CallModel, Outcome } from '../call.js';
import type { OnceReporter } from '../diagnostics.js';
import { asObject } from '../usage/json.js';
import { BidiUsageTracker } from '../usage/bidi-usage.js';
import { ChunkUsageTracker } from '../usage/chunk-usage.js';
import { usageFromConverse } from '../usage/converse.js';
import { ConverseStreamUsageTracker } from '../usage/converse-stream-usage.js';
import type { Drains } from '../usage/drains.js';
import { usageFromInvokeModel } from '../usage/invoke-model.js';
import { observeStream, type StreamEnd, type StreamObserver } from '../usage/observed-stream.js';
import { believedModelId, believedTier } from '../usage/served.js';
import type { ObservedUsage } from '../usage/token-usage.js';

/**
 * Ends a call: how it ended, what was observed, for streams the output tokens seen so far (what
 * an estimate starts from when Bedrock's usage never came), and for unary calls the output they
 * returned (read only if their reported output count is not believed). Called once per call.
 */
export type EndCall = (outcome: Outcome, observed: ObservedUsage | undefined, error: unknown, outputSeen?: number, returned?: unknown) => void;

/** Follows a stream's events for usage. */
export interface UsageTracker {
  add(event: unknown): void;
  result(provider: string | undefined): ObservedUsage | undefined;
  size(event: unknown): number;
  outputSeen(provider: string | undefined): number;
  /** A service tier the stream itself reported (ConverseStream's `metadata` event). */
  readonly serviceTier?: string | undefined;
  /** The model a prompt router sent the call to. */
  readonly routedModelId?: string | undefined;
  /** The latency the stream reported serving it at. */
  readonly performanceLatency?: string | undefined;
}

/** Whether an error is the caller's own abort (an `AbortSignal`), not a failure. */
export function isAbort(error: unknown): boolean {
  // A failure's name is read on the error path only; one whose getter throws (a user middleware's
  // odd error) is no abort, and must not replace the caller's error nor leave the call unsettled.
  try {
    return (error as { name?: unknown } | null | undefined)?.name === 'AbortError';
  } catch {
    return false;
  }
}

/** What a failure was recorded as when the caller's signal had fired (the socket error it causes says `aborted`, not AbortError). */
const ABORTED = Object.assign(new Error('aborted by the caller'), { name: 'AbortError' });

/** How a call that failed ended: `abandoned` with an AbortError when the caller aborted it, else `error`. */
export function failure(error: unknown, signal: AbortSignal | undefined): { outcome: Outcome; error: unknown } {
  if (isAbort(error)) return { outcome: 'abandoned', error };
  if (signal?.aborted === true) return { outcome: 'abandoned', error: ABORTED };
  return { outcome: 'error', error };
}

const END_OUTCOME: Readonly<Record<StreamEnd, Outcome>> = { completed: 'success', failed: 'error', abandoned: 'abandoned' };

/**
 * What the response says served the call (tier and latency); the request's ask stays where it
 * says nothing, or names a tier no tier can be (see {@link believedTier}).
 */
function noteServed(call: Call, serviceTier: unknown, latency: unknown): void {
  const tier = believedTier(typeof serviceTier === 'string' ? serviceTier : asObject(serviceTier)?.type);
  if (tier !== undefined) call.serviceTier = tier;
  if (latency === 'optimized' || (latency === 'standard' && call.performanceLatency !== undefined)) call.performanceLatency = latency;
}

function requestIdOf(output: Record<string, unknown> | undefined): string | undefined {
  const id = asObject(output?.$metadata)?.requestId;
  return typeof id === 'string' ? id : undefined;
}

/** A new tracker for a streaming operation's events. */
export function trackerFor(call: Call): UsageTracker {
  switch (call.info.delivery) {
    case 'converse-stream':
      return new ConverseStreamUsageTracker();
    case 'bidi-stream':
      return new BidiUsageTracker();
    default:
      return new ChunkUsageTracker();
  }
}

/** Reads usage from SDK outputs, and follows their event streams, for one plugin instance. */
export class UsageObserver {
  constructor(
    readonly reporter: OnceReporter,
    private readonly resolve: (modelId: string, now: number) => CallModel,
    readonly drains: Drains,
  ) {}

  /**
   * A prompt router names the model that served the call: price and record it as that one, when
   * it can be a model id (a response naming text or megabytes there is not believed: the call
   * stays recorded as the model it was sent to).
   */
  routed(call: Call, routedId: unknown): void {
    const modelId = routedId === undefined ? undefined : believedModelId(routedId);
    if (modelId === undefined || modelId === call.modelId) return;
    call.modelId = modelId;
    call.model = this.resolve(modelId, call.startedAt);
  }

  /**
   * The observer of one call's stream: events feed `tracker`, the end reads what it learnt and
   * ends the call (an abort by the caller's signal ends it as abandoned). The SDK path wraps the
   * event stream with it; the fetch path feeds it the events it decodes from the bytes.
   */
  streamObserver(call: Call, tracker: UsageTracker, endCall: EndCall, signal?: AbortSignal): StreamObserver<unknown> {
    const reporter = this.reporter;
    return {
      event(value) {
        try {
          tracker.add(value);
        } catch (error) {
          reporter.error('stream-event', 'could not read a stream event for usage', error);
        }
      },
      size: (value) => tracker.size(value),
      end: (how, error) => {
        let observed: ObservedUsage | undefined;
        let seen = 0;
        try {
          observed = tracker.result(call.model.provider);
          seen = tracker.outputSeen(call.model.provider);
          noteServed(call, tracker.serviceTier, tracker.performanceLatency);
          this.routed(call, tracker.routedModelId);
        } catch (e) {
          reporter.error('stream-end', 'could not read stream usage', e);
        }
        if (how === 'failed') {
          const f = failure(error, signal);
          endCall(f.outcome, observed, f.error, seen);
        } else endCall(END_OUTCOME[how], observed, error, seen);
      },
    };
  }

  /** Starts following a stream: its events pass through unchanged; `endCall` runs once when it ends (drained first if abandoned). */
  follow(call: Call, stream: AsyncIterable<unknown>, tracker: UsageTracker, endCall: EndCall, signal?: AbortSignal): AsyncIterable<unknown> {
    return observeStream(stream, this.streamObserver(call, tracker, endCall, signal), this.drains);
  }

  /**
   * Observes an SDK result: reads usage from a finished response and ends the call now, or
   * replaces the output's event stream with a pass-through that ends the call when it ends.
   */
  observe(call: Call, result: { readonly output: unknown; readonly response?: unknown }, endCall: EndCall, signal?: AbortSignal): void {
    const output = result.output as Record<string, unknown> | undefined;
    call.requestId = requestIdOf(output);
    noteServed(call, output?.serviceTier, asObject(output?.performanceConfig)?.latency ?? output?.performanceConfigLatency);
    const delivery = call.info.delivery;
    if (delivery === 'converse') {
      this.routed(call, asObject(asObject(output?.trace)?.promptRouter)?.invokedModelId);
      const usage = usageFromConverse(output?.usage);
      endCall('success', usage === undefined ? undefined : { usage, source: 'usage' }, undefined, 0, output);
      return;
    }
    if (delivery === 'invoke') {
      const headers = asObject(result.response)?.headers as Record<string, string> | undefined;
      const body = output?.body instanceof Uint8Array ? output.body : undefined;
      endCall('success', usageFromInvokeModel(headers, body, call.model.provider), undefined, 0, output);
      return;
    }
    // The SDK resolves send() for event streams only once the first event has arrived.
    call.firstEventAt = performance.now();
    const key = delivery === 'converse-stream' ? 'stream' : 'body';
    const stream = output?.[key];
    if (output === undefined || typeof stream !== 'object' || stream === null || !(Symbol.asyncIterator in stream)) {
      endCall('success', undefined, undefined);
      return;
    }
    output[key] = this.follow(call, stream as AsyncIterable<unknown>, trackerFor(call), endCall, signal);
  }
}
