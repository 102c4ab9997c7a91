import type { FinalizeHandler, FinalizeHandlerArguments, FinalizeHandlerOutput, HandlerExecutionContext, MetadataBearer } from '@smithy/types';
import { abortSignalOf, isServiceAnswer, type Call, type Outcome } from '../call.js';
import { isPromise } from '../promise-like.js';
import type { ObservedUsage } from '../usage/token-usage.js';
import type { Ticket } from './admission.js';
import { freshCall } from './begin.js';
import { failure, type UsageObserver } from './observe.js';
import type { UsageMeter } from './usage-meter.js';

/**
 * A call of its own for an attempt that went out after `settled` had settled (a user middleware
 * below the plugin answered the call, then sent it from a timer: a cache refreshing in the
 * background). Same operation and attribution; the model the attempt names.
 */
function lateCall(settled: Call, input: unknown): Call {
  const call = freshCall(settled.info, settled.requestedModelId, settled.attribution, settled.modelId, settled.model, input, Date.now());
  call.fallback = settled.fallback;
  call.serverAddress = settled.serverAddress;
  call.serverPort = settled.serverPort;
  return call;
}

/**
 * Meters attempts that reach the per-attempt hook after their call settled: each is admitted
 * (budgets and quotas; a refusal goes to its sender before anything is sent), observed and
 * settled once like any call, so what Bedrock billed for it is charged. Only that path runs this.
 */
export function lateAttempts(meter: UsageMeter, observer: UsageObserver) {
  return function lateAttempt<Input extends object, Output extends MetadataBearer>(
    settled: Call,
    args: FinalizeHandlerArguments<Input>,
    next: FinalizeHandler<Input, Output>,
    context: HandlerExecutionContext,
  ): Promise<FinalizeHandlerOutput<Output>> {
    const input: unknown = args.input;
    const signal = abortSignalOf(context);
    let call: Call;
    let ticket: Ticket | Promise<Ticket>;
    try {
      call = lateCall(settled, input);
      observer.routed(call, (input as { modelId?: unknown } | undefined)?.modelId);
    } catch (error) {
      meter.reporter.error('late-attempt', 'could not meter an attempt sent after its call settled (it is sent unmetered)', error);
      return next(args);
    }
    try {
      // Nothing here can send it elsewhere: a quota without room refuses it.
      ticket = meter.admission.admit(call, input, { redirectable: false, signal });
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const send = (t: Ticket): Promise<FinalizeHandlerOutput<Output>> => {
      const end = (outcome: Outcome, observed: ObservedUsage | undefined, error: unknown, outputSeen = 0, output?: unknown): void => {
        meter.settle(call, t, outcome, observed, error, { input, outputSeen, output });
      };
      if (signal?.aborted !== true) call.attempt = 'in-flight';
      return next(args).then(
        (result) => {
          try {
            observer.observe(call, result, end, signal);
          } catch (error) {
            meter.reporter.error('observe', 'could not read usage from a response', error);
            end('success', undefined, undefined);
          }
          return result;
        },
        (error: unknown) => {
          if (isServiceAnswer(error)) call.attempt = 'answered';
          const f = failure(error, signal);
          end(f.outcome, undefined, f.error);
          throw error;
        },
      );
    };
    return isPromise(ticket) ? ticket.then(send) : send(ticket);
  }
}
