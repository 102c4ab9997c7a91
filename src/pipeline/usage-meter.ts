import type { Call, Outcome } from '../call.js';
import type { OnceReporter } from '../diagnostics.js';
import type { OperationInfo } from '../model/operations.js';
import type { ObservedUsage } from '../usage/token-usage.js';
import type { Admission, Ticket } from './admission.js';
import type { CallStarter } from './begin.js';
import type { EstimateBasis, Settler } from './settle.js';

/**
 * The call path's phases that do not depend on the transport (SDK middleware or fetch), in the
 * order a call meets them: begin → admit → (route, send: the transport's) → observe → settle.
 */
export class UsageMeter {
  constructor(
    private readonly starter: CallStarter,
    readonly admission: Admission,
    private readonly settler: Settler,
    readonly reporter: OnceReporter,
  ) {}

  /** Starts metering one call; `undefined` (the call goes out unmetered) if even that fails. */
  begin(info: OperationInfo, modelId: string, args: object | undefined, input?: unknown): Call | undefined {
    try {
      return this.starter.begin(info, modelId, args, input);
    } catch (error) {
      this.reporter.error('begin', 'could not start metering a call (it is sent unmetered)', error);
      return undefined;
    }
  }

  /** Policies and budgets; throws a typed refusal before anything is sent. */
  admit(call: Call, input: unknown): Ticket | Promise<Ticket> {
    return this.admission.admit(call, input);
  }

  /** Settles `call` once: record, budget commit, sinks. */
  settle(call: Call, ticket: Ticket, outcome: Outcome, observed: ObservedUsage | undefined, error: unknown, basis?: EstimateBasis): void {
    this.settler.settle(call, ticket, outcome, observed, error, basis);
  }
}
