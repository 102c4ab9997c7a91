import type { Attribution, FallbackInfo } from '../record.js';
import type { ObservedUsage } from '../usage/invoke-model.js';
import type { ResolvedModel } from '../model/model-resolver.js';
import type { RateCard } from '../pricing/rate-card.js';
import type { Reservation } from '../budgets/budget-manager.js';
import type { OperationInfo } from '../model/operations.js';

/** How a call ended. */
export type Outcome = 'success' | 'error' | 'abandoned';

/** Receives each call exactly once, when it settles. */
export interface CallSettler {
  settle(call: Call, outcome: Outcome, observed: ObservedUsage | undefined, error: unknown): void;
}

/** One metered operation in flight: what the plugin knows about it until it settles. */
export class Call {
  /** The model id that is being (or was) sent; changes on fallback. */
  modelId: string;
  model: ResolvedModel<RateCard | undefined>;
  fallback: FallbackInfo | undefined = undefined;
  requestId: string | undefined = undefined;
  /** `performance.now()` when the first stream event reached the caller; -1 before. */
  firstEventAt = -1;
  /** The budget reservation this call holds until it settles. */
  reservation: Reservation | undefined = undefined;
  /** The service tier the response reported. */
  serviceTier: string | undefined = undefined;
  /** The endpoint host and port the call went to, once known. */
  serverAddress: string | undefined = undefined;
  serverPort = 443;
  private settled = false;

  constructor(
    readonly info: OperationInfo,
    readonly requestedModelId: string,
    model: ResolvedModel<RateCard | undefined>,
    readonly attribution: Attribution,
    /** Epoch ms. */
    readonly startedAt: number,
    /** `performance.now()` at start. */
    readonly t0: number,
    private readonly settler: CallSettler,
  ) {
    this.modelId = requestedModelId;
    this.model = model;
  }

  get isSettled(): boolean {
    return this.settled;
  }

  /** Settles the call; every call after the first is ignored. */
  settle(outcome: Outcome, observed: ObservedUsage | undefined, error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.settler.settle(this, outcome, observed, error);
  }
}
