import type { Reservation } from '../budgets/admission.js';
import type { Budgets } from '../budgets/budgets.js';
import type { Call, Settlement } from '../call.js';
import type { OnceReporter } from '../diagnostics.js';
import { isBudgetExceededError } from '../errors/budget-exceeded-error.js';
import { isModelNotAllowedError } from '../errors/model-not-allowed-error.js';
import { isQuotaExceededError } from '../errors/quota-exceeded-error.js';
import { isUnpricedModelError } from '../errors/unpriced-model-error.js';
import type { QuotaAdmitOptions, QuotaTicket } from '../quotas/quota-admission.js';
import type { Quotas } from '../quotas/quotas.js';
import { unsentSettlement } from './unsent.js';
import { isPromise } from '../promise-like.js';

/** What an admitted call holds until it settles: its budget reservation and its quota holds, if any. Opaque to the call path. */
export type Ticket = { readonly reservation: Reservation | undefined; readonly quota: QuotaTicket | undefined } | undefined;

/** What the transport tells admission: whether it can send the call elsewhere, and the caller's signal. */
export type AdmitOptions = Pick<QuotaAdmitOptions, 'redirectable' | 'signal'>;

const ticketOf = (reservation: Reservation | undefined, quota: QuotaTicket | undefined): Ticket => (reservation === undefined && quota === undefined ? undefined : { reservation, quota });

/**
 * The gates a call passes before it is sent (model policies, budgets, then quotas) and settles
 * with after. Only a policy, budget or quota decision stops a call; any other failure of
 * admission is reported and the call goes on without that check. A quota refusal after budgets
 * reserved releases the reservation exactly.
 */
export class Admission {
  constructor(
    private readonly budgets: Budgets | undefined,
    private readonly reporter: OnceReporter,
    private readonly quotas?: Quotas,
  ) {}

  private failed(error: unknown): Reservation | undefined {
    if (isBudgetExceededError(error) || isModelNotAllowedError(error) || isUnpricedModelError(error)) throw error;
    this.reporter.error('admit', 'budget admission failed (the call is sent without a budget check)', error);
    return undefined;
  }

  /** Whether any policy, budget or quota applies to calls at all. */
  get active(): boolean {
    return this.budgets !== undefined || this.quotas !== undefined;
  }

  /** Admits or refuses (throws) a call; a promise only when a gate is asynchronous (or the call waits for quota room). */
  admit(call: Call, input: unknown, options?: AdmitOptions): Ticket | Promise<Ticket> {
    let reserved: Reservation | undefined | Promise<Reservation | undefined> = undefined;
    if (this.budgets !== undefined) {
      try {
        reserved = this.budgets.admit(call, input);
      } catch (error) {
        reserved = this.failed(error);
      }
      if (isPromise(reserved)) reserved = reserved.then(undefined, (error: unknown) => this.failed(error));
    }
    if (isPromise(reserved)) return reserved.then((r) => this.admitQuotas(call, input, r, options));
    return this.admitQuotas(call, input, reserved, options);
  }

  private admitQuotas(call: Call, input: unknown, reservation: Reservation | undefined, options: AdmitOptions | undefined): Ticket | Promise<Ticket> {
    const quotas = this.quotas;
    if (quotas === undefined) return ticketOf(reservation, undefined);
    const refused = (error: unknown): Ticket => {
      // Refused or aborted while waiting: nothing is sent, so the budget reservation goes back exactly.
      const stop = isQuotaExceededError(error) || options?.signal?.aborted === true;
      if (stop && reservation !== undefined) this.budgets?.settle(reservation, unsentSettlement(call));
      if (stop) throw error;
      this.reporter.error('admit-quota', 'quota admission failed (the call is sent without a quota check)', error);
      return ticketOf(reservation, undefined);
    };
    let held: QuotaTicket | undefined | Promise<QuotaTicket | undefined>;
    try {
      held = quotas.admit(call, input, { ...options, inputEstimate: reservation?.estimate.inputTokens });
    } catch (error) {
      return refused(error);
    }
    if (isPromise(held)) return held.then((q) => ticketOf(reservation, q), refused);
    return ticketOf(reservation, held);
  }

  /** The input tokens admission estimated for the call (cache included), if a budget or quota estimated any. */
  estimatedInput(ticket: Ticket): number | undefined {
    return ticket?.reservation?.estimate.inputTokens ?? ticket?.quota?.inputEstimate;
  }

  /** Settles the call's budget reservation and its quota holds, each on its own: one failing never keeps the other held. */
  settle(ticket: Ticket, settlement: Settlement): void {
    try {
      if (ticket?.reservation !== undefined) this.budgets?.settle(ticket.reservation, settlement);
    } catch (error) {
      this.reporter.error('settle-budget', 'budget settlement failed (the call is unaffected)', error);
    }
    try {
      // Quotas also see calls they never held: a provisioned call that spilled to on-demand is charged there.
      this.quotas?.settle(ticket?.quota, settlement);
    } catch (error) {
      this.reporter.error('settle-quota', 'quota settlement failed (the call is unaffected)', error);
    }
  }
}
