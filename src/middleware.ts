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
import { abortSignalOf, CALL_KEY, callOf, hadUnattributed, instanceMark, type Call, type Outcome } from './call.js';
import { ConfigurationError } from './errors/configuration-error.js';
import type { FallbackRouter } from './fallback/router.js';
import { meteredOperation, type OperationInfo } from './model/operations.js';
import type { Ticket } from './pipeline/admission.js';
import { failure, type UsageObserver } from './pipeline/observe.js';
import { NOT_SENT } from './pipeline/settle.js';
import type { UsageMeter } from './pipeline/usage-meter.js';
import type { ObservedUsage } from './usage/token-usage.js';
import { isPromise } from './promise-like.js';

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
 * The options a plugin entry goes on the stack with: its own, plus an empty `before` and `after`.
 * The SDK rebuilds its handler chain on every call, copying each entry with a spread and then
 * adding fresh `before` and `after` arrays to the copy. V8 gives a spread's copy a map (hidden
 * class) outside its transition tree, so adding a property to it makes a new map every time: two
 * maps per entry per call (old-space garbage, runtime work, and inline caches that miss). An entry
 * that already carries both properties is copied with them: the SDK's arrays replace these in
 * its copies (a plain store, no new map). The SDK reads and fills only its copies' arrays, never
 * an entry's own.
 */
export function stackEntryOptions<O extends object>(options: O): O & { readonly before: readonly never[]; readonly after: readonly never[] } {
  return { ...options, before: [], after: [] };
}

export interface MiddlewareDeps {
  /** This instance's id (see {@link markInstance}). */
  readonly instance: number;
  readonly meter: UsageMeter;
  readonly observer: UsageObserver;
  readonly router: FallbackRouter;
  readonly propagateToBedrock: boolean;
  /** Marks the call's sending, so the instance's metered fetch under a fetch-based request handler does not meter it again. */
  readonly sending?: { readonly active: boolean; run<T>(send: () => T, sending?: { readonly call: Call }): T };
}

/** The last endpoint read, and its parts: the SDK's endpoint cache hands every call the same URL. */
let lastHref: string | undefined;
let lastAddress = '';
let lastPort = 443;

/** The endpoint the SDK resolved for this operation (set on the context before sending). */
function noteEndpoint(call: Call, context: HandlerExecutionContext): void {
  const url = context.endpointV2?.url;
  if (url === undefined) return;
  // A URL's part getters build new strings on every read (its href is stored): parts are read once per address.
  const href = url.href;
  if (href !== lastHref) {
    lastAddress = url.hostname;
    lastPort = url.port !== '' ? Number(url.port) : url.protocol === 'http:' ? 80 : 443;
    lastHref = href;
  }
  call.serverAddress = lastAddress;
  call.serverPort = lastPort;
}

const TWO_INSTANCES_MESSAGE =
  "this call carries two bedrockFinOps instances (one on the client, one on the command): only one can meter it, so the other's budgets would not apply. Nothing was sent; apply one instance.";

/**
 * The call's path through the SDK, top to bottom: begin → admit → route and send → observe →
 * settle. One instance per plugin; its methods take what varies per call, so a call allocates
 * one handler closure and nothing else here.
 */
class CallPath<Input extends object, Output extends MetadataBearer> {
  constructor(private readonly deps: MiddlewareDeps) {}

  handle(info: OperationInfo, next: InitializeHandler<Input, Output>, context: HandlerExecutionContext, args: InitializeHandlerArguments<Input>): Promise<InitializeHandlerOutput<Output>> {
    const mark = instanceMark(context);
    if (mark !== undefined && mark !== this.deps.instance) return Promise.reject(new ConfigurationError('middlewareStack', TWO_INSTANCES_MESSAGE));
    const meter = this.deps.meter;
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
    // One handler context serves every invocation of a resolved handler (the SDK's handler cache, a
    // user middleware that sends twice): a context still carrying an unsettled call keeps it, and
    // this call travels on its own arguments instead.
    const prior = callOf(context);
    let carrying = args;
    if (prior === undefined || prior.settled) (context as Record<symbol, unknown>)[CALL_KEY] = call;
    else carrying = { ...args, [CALL_KEY]: call } as InitializeHandlerArguments<Input>;
    if (isPromise(ticket)) return ticket.then((t) => this.sendAndObserve(info, next, context, call, t, carrying));
    return this.sendAndObserve(info, next, context, call, ticket, carrying);
  }

  // Not async functions: `.then` costs one promise where an async function and its await cost
  // more (and each promise pays Node 20's async hooks when an AsyncLocalStorage is in use).
  private sendAndObserve(
    info: OperationInfo,
    next: InitializeHandler<Input, Output>,
    context: HandlerExecutionContext,
    call: Call,
    ticket: Ticket,
    admitted: InitializeHandlerArguments<Input>,
  ): Promise<InitializeHandlerOutput<Output>> {
    const { meter, router, propagateToBedrock } = this.deps;
    let input: Input = admitted.input;
    let sent: Promise<InitializeHandlerOutput<Output>>;
    try {
      // A quota without room sent the call to its fallback (`fallback.reason: 'quota'`): send that model.
      const args = call.fallback?.reason === 'quota' ? { ...admitted, input: { ...admitted.input, modelId: call.modelId } } : admitted;
      input = args.input;
      const toSend = propagateToBedrock ? withRequestMetadata(args, info.delivery, call.attribution, meter.reporter) : args;
      // Promise.resolve: a native promise as is (no extra hop); a plain value from a user's middleware wrapped.
      const sending = this.deps.sending;
      sent = Promise.resolve(sending?.active === true ? sending.run(() => router.send(call, toSend, next), { call }) : router.send(call, toSend, next));
    } catch (error) {
      // The thrown value as is: the caller sees what it would have seen without the plugin.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the user's own thrown value, passed on unchanged
      sent = Promise.reject(error);
    }
    return sent.then(
      (result) => this.observed(context, call, ticket, input, result),
      (error: unknown) => this.failed(context, call, ticket, input, error),
    );
  }

  private failed(context: HandlerExecutionContext, call: Call, ticket: Ticket, input: Input, error: unknown): never {
    noteEndpoint(call, context);
    // An abort after sending may have been billed: it settles as abandoned, charged an estimate.
    const f = failure(error, abortSignalOf(context));
    this.deps.meter.settle(call, ticket, f.outcome, undefined, f.error, { input, outputSeen: 0 });
    throw error;
  }

  private observed(context: HandlerExecutionContext, call: Call, ticket: Ticket, input: Input, result: InitializeHandlerOutput<Output>): InitializeHandlerOutput<Output> {
    const meter = this.deps.meter;
    noteEndpoint(call, context);
    // This instance's per-attempt hook is on the stack (it marked the context), so an attempt that
    // went out was seen: a call answered with none sent (a user's cache middleware below ours)
    // was billed nothing, whatever usage its answer carries. Without the hook nothing can be told.
    // A call carried on its arguments (its context busy with another) cannot be told unsent once an
    // attempt came that may have been its own with its arguments rebuilt.
    const unsent = instanceMark(context) === this.deps.instance && call.attempt === 'none' && (callOf(context) === call || !hadUnattributed(context));
    try {
      this.deps.observer.observe(
        call,
        result,
        (outcome: Outcome, observed: ObservedUsage | undefined, error: unknown, outputSeen = 0, output?: unknown): void => {
          meter.settle(call, ticket, outcome, unsent ? NOT_SENT : observed, error, { input, outputSeen, output });
        },
        abortSignalOf(context),
      );
    } catch (error) {
      meter.reporter.error('observe', 'could not read usage from a response', error);
      meter.settle(call, ticket, 'success', unsent ? NOT_SENT : undefined, undefined);
    }
    return result;
  }
}

/** The plugin's metering middleware (see {@link CallPath}). */
export function finOpsMiddleware<Input extends object, Output extends MetadataBearer>(deps: MiddlewareDeps): InitializeMiddleware<Input, Output> {
  const path = new CallPath<Input, Output>(deps);
  return (next: InitializeHandler<Input, Output>, context: HandlerExecutionContext): InitializeHandler<Input, Output> => {
    const info = meteredOperation(context.commandName);
    // Operations that bill no tokens get the next handler itself: zero cost per call.
    if (info === undefined) return next;
    return (args) => path.handle(info, next, context, args);
  };
}
