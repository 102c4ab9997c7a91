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
import { abortSignalOf, callOf, markInstance } from '../call.js';

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

function errorName(error: unknown): string | undefined {
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : undefined;
}

/** Exception names counted as throttles (per attempt, so retried ones count too). */
export const THROTTLE_ERRORS: ReadonlySet<string> = new Set(['ThrottlingException', 'ModelNotReadyException', 'ServiceQuotaExceededException']);

/**
 * The per-attempt hook: counts throttled attempts, and turns a fallback-worthy error of a marked
 * (provisioned, with fallback) attempt into a {@link FallbackSignal}.
 */
export function fallbackAttemptMiddleware<Input extends object, Output extends MetadataBearer>(
  instance: number,
  onThrottle: (modelId: string, error: string) => void,
): FinalizeRequestMiddleware<Input, Output> {
  return (next: FinalizeHandler<Input, Output>, context: HandlerExecutionContext): FinalizeHandler<Input, Output> => {
    // Built once per call, before any handler runs: says which instance this stack carries.
    markInstance(context, instance);
    // Not an async function: a successful attempt costs no extra promise hops.
    return (args: FinalizeHandlerArguments<Input>): Promise<FinalizeHandlerOutput<Output>> => {
      // The request goes out now, unless the caller's signal already fired (then nothing is sent).
      const call = callOf(args) ?? callOf(context);
      if (call !== undefined && abortSignalOf(context)?.aborted !== true) call.attempt = 'in-flight';
      return next(args).then(undefined, (error: unknown) => {
        // A service error is an answer (not billed); a network error or an abort leaves the attempt in flight.
        if (call !== undefined && typeof (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode === 'number') call.attempt = 'answered';
        const name = errorName(error);
        if (name !== undefined && THROTTLE_ERRORS.has(name)) {
          const modelId = (args.input as { modelId?: unknown } | undefined)?.modelId;
          onThrottle(typeof modelId === 'string' ? modelId : '', name);
        }
        const fallbackOn = (args as unknown as Record<symbol, ReadonlySet<string> | undefined>)[FALLBACK_ON];
        if (fallbackOn !== undefined && name !== undefined && fallbackOn.has(name)) throw new FallbackSignal(error, name);
        throw error;
      });
    };
  };
}

/** Where instance `instance`'s per-attempt hook sits: {@link FINOPS_ATTEMPT_MIDDLEWARE}, named per instance after the first. */
export function attemptMiddlewareOptions(instance: number): typeof FINOPS_ATTEMPT_MIDDLEWARE | (Omit<typeof FINOPS_ATTEMPT_MIDDLEWARE, 'name'> & { name: string }) {
  return instance === 1 ? FINOPS_ATTEMPT_MIDDLEWARE : { ...FINOPS_ATTEMPT_MIDDLEWARE, name: `${FINOPS_ATTEMPT_MIDDLEWARE.name}#${instance}` };
}
