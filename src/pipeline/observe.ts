import type { Call, Outcome } from '../call.js';
import type { OnceReporter } from '../diagnostics.js';
import { BidiUsageTracker } from '../usage/bidi-usage.js';
import { ChunkUsageTracker } from '../usage/chunk-usage.js';
import { usageFromConverse } from '../usage/converse.js';
import { ConverseStreamUsageTracker } from '../usage/converse-stream-usage.js';
import { usageFromInvokeModel } from '../usage/invoke-model.js';
import { observeStream, type StreamEnd, type StreamObserver } from '../usage/observed-stream.js';
import type { ObservedUsage } from '../usage/token-usage.js';

/** Ends a call: how it ended and what was observed. Called at most once per call by the observer. */
export type EndCall = (outcome: Outcome, observed: ObservedUsage | undefined, error: unknown) => void;

/** Follows a stream's events for usage. */
export interface UsageTracker {
  add(event: unknown): void;
  result(provider: string | undefined): ObservedUsage | undefined;
  /** A service tier the stream itself reported (ConverseStream's `metadata` event). */
  readonly serviceTier?: string | undefined;
}

const END_OUTCOME: Readonly<Record<StreamEnd, Outcome>> = { completed: 'success', failed: 'error', abandoned: 'abandoned' };

/** Connects a wrapped stream to its call: events feed the tracker, the end settles the call. */
export class StreamCallObserver implements StreamObserver<unknown> {
  constructor(
    private readonly call: Call,
    private readonly tracker: UsageTracker,
    private readonly reporter: OnceReporter,
    private readonly endCall: EndCall,
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
    this.endCall(END_OUTCOME[how], observed, error);
  }
}

/** The service tier on an SDK output: InvokeModel's header string, or Converse's `{ type }`. */
function serviceTierOf(output: Record<string, unknown> | undefined): string | undefined {
  const tier = output?.serviceTier;
  if (typeof tier === 'string') return tier;
  const type = (tier as { type?: unknown } | undefined)?.type;
  return typeof type === 'string' ? type : undefined;
}

function requestIdOf(output: Record<string, unknown> | undefined): string | undefined {
  const id = (output?.$metadata as { requestId?: unknown } | undefined)?.requestId;
  return typeof id === 'string' ? id : undefined;
}

/** Starts following a stream: its events pass through unchanged; `endCall` runs once when it ends. */
export function followStream(call: Call, stream: AsyncIterable<unknown>, tracker: UsageTracker, reporter: OnceReporter, endCall: EndCall): AsyncIterable<unknown> {
  return observeStream(stream, new StreamCallObserver(call, tracker, reporter, endCall));
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

/**
 * Observes an SDK result: reads usage from a finished response and ends the call now, or replaces
 * the output's event stream with a pass-through that ends the call when the stream ends.
 */
export function observeSdkOutput(call: Call, result: { readonly output: unknown; readonly response?: unknown }, reporter: OnceReporter, endCall: EndCall): void {
  const output = result.output as Record<string, unknown> | undefined;
  call.requestId = requestIdOf(output);
  call.serviceTier = serviceTierOf(output);
  const delivery = call.info.delivery;
  if (delivery === 'converse') {
    const usage = usageFromConverse(output?.usage);
    endCall('success', usage === undefined ? undefined : { usage, source: 'usage' }, undefined);
    return;
  }
  if (delivery === 'invoke') {
    const headers = (result.response as { headers?: Record<string, string> } | undefined)?.headers;
    const body = output?.body instanceof Uint8Array ? output.body : undefined;
    endCall('success', usageFromInvokeModel(headers, body, call.model.provider), undefined);
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
  output[key] = followStream(call, stream as AsyncIterable<unknown>, trackerFor(call), reporter, endCall);
}
