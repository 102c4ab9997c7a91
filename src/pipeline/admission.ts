import type { Reservation } from '../budgets/admission.js';
import type { Budgets } from '../budgets/budgets.js';
import type { Call, Settlement } from '../call.js';
import type { OnceReporter } from '../diagnostics.js';
import { isBudgetExceededError } from '../errors/budget-exceeded-error.js';
import { isModelNotAllowedError } from '../errors/model-not-allowed-error.js';
import { isUnpricedModelError } from '../errors/unpriced-model-error.js';

/** What an admitted call holds until it settles (its budget reservation, if any). Opaque to the call path. */
export type Ticket = Reservation | undefined;

function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | undefined)?.then === 'function';
}

/**
 * The gates a call passes before it is sent (model policies, budgets) and settles with after.
 * Only a policy or budget decision stops a call; any other failure of admission is reported
 * and the call goes on without a check.
 */
export class Admission {
  constructor(
    private readonly budgets: Budgets | undefined,
    private readonly reporter: OnceReporter,
  ) {}

  private failed(error: unknown): Ticket {
    if (isBudgetExceededError(error) || isModelNotAllowedError(error) || isUnpricedModelError(error)) throw error;
    this.reporter.error('admit', 'budget admission failed (the call is sent without a budget check)', error);
    return undefined;
  }

  /** Whether any policy or budget applies to calls at all. */
  get active(): boolean {
    return this.budgets !== undefined;
  }

  /** Admits or refuses (throws) a call; a promise only when a gate is asynchronous. */
  admit(call: Call, input: unknown): Ticket | Promise<Ticket> {
    if (this.budgets === undefined) return undefined;
    let ticket: Ticket | Promise<Ticket>;
    try {
      ticket = this.budgets.admit(call, input);
    } catch (error) {
      return this.failed(error);
    }
    return isPromise(ticket) ? ticket.then(undefined, (error: unknown) => this.failed(error)) : ticket;
  }

  /** The input tokens admission estimated for the call (cache included), if a budget reserved any. */
  estimatedInput(ticket: Ticket): number | undefined {
    return ticket?.estimate.inputTokens;
  }

  settle(ticket: Ticket, settlement: Settlement): void {
    if (ticket !== undefined) this.budgets?.settle(ticket, settlement);
  }
}
