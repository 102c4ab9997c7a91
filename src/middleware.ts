import type {
  AbsoluteLocation,
  HandlerExecutionContext,
  InitializeHandler,
  InitializeHandlerArguments,
  InitializeHandlerOptions,
  InitializeHandlerOutput,
  InitializeMiddleware,
  MetadataBearer,
} from '@smithy/types';
import { withRequestMetadata } from './attribution/propagate.js';
import { CALL_KEY, type Call, type Outcome } from './call.js';
import { ConfigurationError } from './errors/configuration-error.js';
import type { FallbackRouter } from './fallback/router.js';
import { meteredOperation } from './model/operations.js';
import type { Ticket } from './pipeline/admission.js';
import { failure, type UsageObserver } from './pipeline/observe.js';
import type { UsageMeter } from './pipeline/usage-meter.js';
import type { ObservedUsage } from './usage/token-usage.js';

/**
 * Where the plugin's middleware sits: the `initialize` step runs once per operation, outside the
 * SDK's retries, so each call is admitted, counted and charged once. `priority: 'high'` puts it
 * outermost, so its duration covers retries and backoff too. Remove the plugin from a client with
 * `client.middlewareStack.removeByTag('BEDROCK_FINOPS')` (its metering, per-attempt and instance
 * middlewares); `remove(FINOPS_MIDDLEWARE.name)` removes the metering alone.
 */
export const FINOPS_MIDDLEWARE = {
  name: 'bedrockFinOpsMiddleware',
  step: 'initialize',
  priority: 'high',
  tags: ['BEDROCK_FINOPS', 'METRICS'],
  override: true,
} as const satisfies InitializeHandlerOptions & AbsoluteLocation & { name: string; override: boolean };

/**
 * Which plugin instances' sentinels a call passed (keyed by the SDK command, the initialize
 * step's arguments). Each instance adds a uniquely named sentinel before its metering
 * middleware; metering middlewares share one name, so on a stack that carries two instances only
 * one meters. A call that met another instance's sentinel is refused: its budgets would not apply.
 */
const carriers = new WeakMap<object, number[]>();
let instances = 0;

/** A new instance's sentinel middleware and its placement. */
export function instanceSentinel<Input extends object, Output extends MetadataBearer>(): {
  readonly id: number;
  readonly middleware: InitializeMiddleware<Input, Output>;
  readonly options: { name: string; step: 'initialize'; priority: 'high'; tags: string[]; override: true };
} {
  const id = ++instances;
  const middleware: InitializeMiddleware<Input, Output> = (next) => (args) => {
    const ids = carriers.get(args);
    if (ids === undefined) carriers.set(args, [id]);
    else if (!ids.includes(id)) ids.push(id);
    return next(args);
  };
  return { id, middleware, options: { name: `bedrockFinOpsInstance${id}`, step: 'initialize', priority: 'high', tags: ['BEDROCK_FINOPS'], override: true } };
}

export interface MiddlewareDeps {
  /** This instance's sentinel id (see {@link instanceSentinel}). */
  readonly instance: number;
  readonly meter: UsageMeter;
  readonly observer: UsageObserver;
  readonly router: FallbackRouter;
  readonly propagateToBedrock: boolean;
}

function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | undefined)?.then === 'function';
}

/** The endpoint the SDK resolved for this operation (set on the context before sending). */
function noteEndpoint(call: Call, context: HandlerExecutionContext): void {
  const url = context.endpointV2?.url;
  if (url === undefined) return;
  call.serverAddress = url.hostname;
  if (url.port !== '') call.serverPort = Number(url.port);
  else if (url.protocol === 'http:') call.serverPort = 80;
}

/** The caller's `AbortSignal`, which recent SDKs put on the context (older ones do not: then only an AbortError says so). */
function abortSignalOf(context: HandlerExecutionContext): AbortSignal | undefined {
  const signal = (context as { __smithy_context?: { abortSignal?: unknown } }).__smithy_context?.abortSignal;
  return typeof signal === 'object' && signal !== null && 'aborted' in signal ? (signal as AbortSignal) : undefined;
}

/** The call's path through the SDK, top to bottom: begin → admit → route and send → observe → settle. */
export function finOpsMiddleware<Input extends object, Output extends MetadataBearer>(deps: MiddlewareDeps): InitializeMiddleware<Input, Output> {
  const { meter, observer, router, propagateToBedrock } = deps;
  return (next: InitializeHandler<Input, Output>, context: HandlerExecutionContext): InitializeHandler<Input, Output> => {
    const info = meteredOperation(context.commandName);
    // Operations that bill no tokens get the next handler itself: zero cost per call.
    if (info === undefined) return next;

    const sendAndObserve = async (call: Call, ticket: Ticket, admitted: InitializeHandlerArguments<Input>): Promise<InitializeHandlerOutput<Output>> => {
      // A quota without room sent the call to its fallback (`fallback.reason: 'quota'`): send that model.
      const args = call.fallback?.reason === 'quota' ? { ...admitted, input: { ...admitted.input, modelId: call.modelId } } : admitted;
      const toSend = propagateToBedrock ? withRequestMetadata(args, info.delivery, call.attribution, meter.reporter) : args;
      let result: InitializeHandlerOutput<Output>;
      try {
        result = await router.send(call, toSend, next);
      } catch (error) {
        noteEndpoint(call, context);
        // An abort after sending may have been billed: it settles as abandoned, charged an estimate.
        const f = failure(error, abortSignalOf(context));
        meter.settle(call, ticket, f.outcome, undefined, f.error, { input: args.input, outputSeen: 0 });
        throw error;
      }
      noteEndpoint(call, context);
      try {
        const endCall = (outcome: Outcome, observed: ObservedUsage | undefined, error: unknown, outputSeen = 0): void => {
          meter.settle(call, ticket, outcome, observed, error, { input: args.input, outputSeen });
        };
        observer.observe(call, result, endCall, abortSignalOf(context));
      } catch (error) {
        meter.reporter.error('observe', 'could not read usage from a response', error);
        meter.settle(call, ticket, 'success', undefined, undefined);
      }
      return result;
    };

    return (args: InitializeHandlerArguments<Input>): Promise<InitializeHandlerOutput<Output>> => {
      const ids = carriers.get(args);
      if (ids !== undefined && (ids.length > 1 || ids[0] !== deps.instance))
        return Promise.reject(
          new ConfigurationError(
            'middlewareStack',
            'this call carries two bedrockFinOps instances (one on the client, one on the command): only one can meter it, so the other\'s budgets would not apply. Nothing was sent; apply one instance.',
          ),
        );
      const modelId = (args.input as { modelId?: unknown } | undefined)?.modelId;
      const call = meter.begin(info, typeof modelId === 'string' ? modelId : '', args, args.input);
      if (call === undefined) return next(args);
      let ticket: Ticket | Promise<Ticket>;
      try {
        // The only place a call may be stopped: before anything is sent, by a policy, budget or quota decision.
        ticket = meter.admission.admit(call, args.input, { signal: abortSignalOf(context) });
      } catch (error) {
        // Admission throws only typed refusals (Errors).
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
      // The per-attempt hook marks when a request is in flight (what an abort may have been billed for).
      const carrying = { ...args, [CALL_KEY]: call };
      if (isPromise(ticket)) return ticket.then((t) => sendAndObserve(call, t, carrying));
      return sendAndObserve(call, ticket, carrying);
    };
  };
}
