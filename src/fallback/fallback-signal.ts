import type {
  FinalizeHandler,
  FinalizeHandlerArguments,
  FinalizeHandlerOutput,
  FinalizeRequestHandlerOptions,
  FinalizeRequestMiddleware,
  AbsoluteLocation,
  HandlerExecutionContext,
  MetadataBearer,
} from '@smithy/types';
import { abortSignalOf, callOf, isServiceAnswer, markInstance, noteUnattributed, type Call } from '../call.js';

/** Marks the arguments of a provisioned attempt that has a fallback: the exception names that trigger it. */
export const FALLBACK_ON = Symbol.for('bedrock-finops.fallbackOn');

/**
 * Thrown inside the SDK's retry loop in place of a provisioned model's 429, so the retry
 * strategy sees a non-retryable error and does not back off (about a second per retry) against
 * a saturated endpoint. The plugin's own middleware catches it and re-issues the call on demand;
 * it never reaches the caller.
 */
export class FallbackSignal extends Error {
  override name = 'BedrockFinOpsFallbackSignal';
  constructor(readonly original: unknown, readonly reason: string) {
    super('provisioned model throttled; re-issuing on demand');
  }
}

/**
 * Where the per-attempt hook sits: in `finalizeRequest` with low priority, i.e. inside the SDK's
 * `retryMiddleware` (finalizeRequest, high priority), so it sees each attempt's error before the
 * retry strategy does. The first plugin instance in a process uses this name; each later one
 * this name followed by `#` and its number (see {@link attemptMiddlewareOptions}).
 */
export const FINOPS_ATTEMPT_MIDDLEWARE = {
  name: 'bedrockFinOpsAttemptMiddleware',
  step: 'finalizeRequest',
  priority: 'low',
  tags: ['BEDROCK_FINOPS'],
  override: true,
} as const satisfies FinalizeRequestHandlerOptions & AbsoluteLocation & { name: string; override: boolean };

/** The error's name, if it has one; never throws (an error from a user's handler may have a getter that does). Error path only. */
function errorName(error: unknown): string | undefined {
  try {
    const name = (error as { name?: unknown } | null)?.name;
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}

/** Exception names counted as throttles (per attempt, so retried ones count too). */
export const THROTTLE_ERRORS: ReadonlySet<string> = new Set(['ThrottlingException', 'ModelNotReadyException', 'ServiceQuotaExceededException']);

/**
 * Meters an attempt that reached the hook after its call had settled (a middleware below the
 * plugin that answered the call and sent it later, say from a timer): it was billed, so it is a
 * call of its own, admitted before it goes out and settled when it ends.
 */
export type LateAttempt = <Input extends object, Output extends MetadataBearer>(
  settled: Call,
  args: FinalizeHandlerArguments<Input>,
  next: FinalizeHandler<Input, Output>,
  context: HandlerExecutionContext,
) => Promise<FinalizeHandlerOutput<Output>>;

/**
 * The per-attempt hook: marks the call's attempts (what tells a call sent from one answered
 * without a request), counts throttled attempts, and turns a fallback-worthy error of a marked
 * (provisioned, with fallback) attempt into a {@link FallbackSignal}.
 */
export function fallbackAttemptMiddleware<Input extends object, Output extends MetadataBearer>(
  instance: number,
  onThrottle: (modelId: string, error: string) => void,
  late?: LateAttempt,
): FinalizeRequestMiddleware<Input, Output> {
  return (next: FinalizeHandler<Input, Output>, context: HandlerExecutionContext): FinalizeHandler<Input, Output> => {
    // Built once per call, before any handler runs: says which instance this stack carries.
    markInstance(context, instance);
    // Not an async function: a successful attempt costs no extra promise hops.
    return (args: FinalizeHandlerArguments<Input>): Promise<FinalizeHandlerOutput<Output>> => {
      const carried = callOf(args);
      const call = carried ?? callOf(context);
      const settled = call?.settled === true;
      let sent: Promise<FinalizeHandlerOutput<Output>>;
      if (settled && late !== undefined) sent = late(call, args, next, context);
      else {
        if (call !== undefined && !settled) {
          // A second attempt at once with no call on its arguments may be another call's.
          if (carried === undefined && call.attempt === 'in-flight') noteUnattributed(context);
          // The request goes out now, unless the caller's signal already fired (then a handler that honours it sends nothing).
          if (abortSignalOf(context)?.aborted !== true) call.attempt = 'in-flight';
          else if (call.attempt === 'none') call.attempt = 'offered';
        }
        sent = next(args);
      }
      return sent.then(undefined, (error: unknown) => {
        // A service error is an answer (not billed); a network error or an abort leaves the attempt in flight.
        if (call !== undefined && !settled && isServiceAnswer(error)) call.attempt = 'answered';
        const name = errorName(error);
        if (name !== undefined && THROTTLE_ERRORS.has(name)) {
          const modelId = (args.input as { modelId?: unknown } | undefined)?.modelId;
          onThrottle(typeof modelId === 'string' ? modelId : '', name);
        }
        const fallbackOn = (args as unknown as Record<symbol, ReadonlySet<string> | undefined>)[FALLBACK_ON];
        // A late attempt has no call left to re-issue it on demand: its error goes to its sender as is.
        if (!settled && fallbackOn !== undefined && name !== undefined && fallbackOn.has(name)) throw new FallbackSignal(error, name);
        throw error;
      });
    };
  };
}

/** Where instance `instance`'s per-attempt hook sits: {@link FINOPS_ATTEMPT_MIDDLEWARE}, named per instance after the first. */
export function attemptMiddlewareOptions(instance: number): typeof FINOPS_ATTEMPT_MIDDLEWARE | (Omit<typeof FINOPS_ATTEMPT_MIDDLEWARE, 'name'> & { name: string }) {
  return instance === 1 ? FINOPS_ATTEMPT_MIDDLEWARE : { ...FINOPS_ATTEMPT_MIDDLEWARE, name: `${FINOPS_ATTEMPT_MIDDLEWARE.name}#${instance}` };
}
