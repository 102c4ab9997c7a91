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
import { meteredOperation } from './model/operations.js';
import type { Call } from './call/call.js';
import type { Meter } from './meter.js';
import type { BudgetManager } from './budgets/budget-manager.js';
import type { FallbackRouter } from './fallback/router.js';
import { isBudgetExceededError } from './errors/budget-exceeded-error.js';
import { isModelNotAllowedError } from './errors/model-not-allowed-error.js';

/**
 * Where the plugin's middleware sits: the `initialize` step runs once per operation, outside the
 * SDK's retries, so each call is admitted, counted and charged once. `priority: 'high'` puts it
 * outermost, so its duration covers retries and backoff too. Remove it with
 * `client.middlewareStack.remove(FINOPS_MIDDLEWARE.name)`.
 */
export const FINOPS_MIDDLEWARE = {
  name: 'bedrockFinOpsMiddleware',
  step: 'initialize',
  priority: 'high',
  tags: ['BEDROCK_FINOPS', 'METRICS'],
  override: true,
} as const satisfies InitializeHandlerOptions & AbsoluteLocation & { name: string; override: boolean };

/** Reads the endpoint the SDK resolved for this operation (set on the context before sending). */
function noteEndpoint(call: Call, context: HandlerExecutionContext): void {
  const url = context.endpointV2?.url;
  if (url === undefined) return;
  call.serverAddress = url.hostname;
  if (url.port !== '') call.serverPort = Number(url.port);
  else if (url.protocol === 'http:') call.serverPort = 80;
}

/** The metering middleware: begin → send → observe, and settle on failure. */
export function finOpsMiddleware<Input extends object, Output extends MetadataBearer>(
  meter: Meter,
  budgets: BudgetManager | undefined,
  router: FallbackRouter,
): InitializeMiddleware<Input, Output> {
  return (next: InitializeHandler<Input, Output>, context: HandlerExecutionContext): InitializeHandler<Input, Output> => {
    const info = meteredOperation(context.commandName);
    // Operations that bill no tokens get the next handler itself: zero cost per call.
    if (info === undefined) return next;
    return async (args: InitializeHandlerArguments<Input>): Promise<InitializeHandlerOutput<Output>> => {
      let call: Call | undefined;
      try {
        call = meter.begin(info, args);
      } catch (error) {
        meter.reporter.error('begin', 'could not start metering a call (it is sent unmetered)', error);
      }
      if (call === undefined) return next(args);
      if (budgets !== undefined) {
        // The only place a call may be stopped: before anything is sent, by a policy or budget decision.
        try {
          const admission = budgets.admit(call, args.input);
          if (admission !== undefined) await admission;
        } catch (error) {
          if (isBudgetExceededError(error) || isModelNotAllowedError(error)) throw error;
          meter.reporter.error('admit', 'budget admission failed (the call is sent without a budget check)', error);
        }
      }
      let result: InitializeHandlerOutput<Output>;
      try {
        result = await router.send(call, meter.argsToSend(call, args), next);
      } catch (error) {
        noteEndpoint(call, context);
        call.settle('error', undefined, error);
        throw error;
      }
      noteEndpoint(call, context);
      try {
        meter.observe(call, result);
      } catch (error) {
        meter.reporter.error('observe', 'could not read usage from a response', error);
        call.settle('success', undefined, undefined);
      }
      return result;
    };
  };
}
