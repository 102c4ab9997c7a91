import { diag } from '@opentelemetry/api';
import type { BudgetStoreObserver } from '../store.js';

/** Event counts the store exports (`bedrock_finops.budget.store.events`). */
export type StoreEvent =
  | 'round_trips'
  | 'slices_leased'
  | 'slices_returned'
  | 'refused'
  | 'errors'
  | 'timeouts'
  | 'unavailable_admissions'
  | 'commits_buffered'
  | 'commits_acknowledged'
  | 'dropped';

/**
 * Whether Redis is reachable, as the store's own round trips show it: unavailable after a script
 * fails or stays unanswered past `storeTimeoutMs` of Redis time, available again at the next
 * answer. Counts events and tells observers about every round trip.
 */
export class StoreHealth {
  readonly events: Record<StoreEvent, number> = {
    round_trips: 0,
    slices_leased: 0,
    slices_returned: 0,
    refused: 0,
    errors: 0,
    timeouts: 0,
    unavailable_admissions: 0,
    commits_buffered: 0,
    commits_acknowledged: 0,
    dropped: 0,
  };
  private down = false;
  private readonly observers = new Set<BudgetStoreObserver>();

  get unavailable(): boolean {
    return this.down;
  }

  count(event: StoreEvent, n = 1): void {
    this.events[event] += n;
  }

  observe(observer: BudgetStoreObserver): void {
    this.observers.add(observer);
  }

  private tell(seconds: number, operation: string, ok: boolean): void {
    this.events.round_trips++;
    for (const o of this.observers) {
      try {
        o.roundTrip(seconds, operation, ok);
      } catch {
        // A broken metrics pipeline must not break budgets.
      }
    }
  }

  answered(operation: string, seconds: number): void {
    this.tell(seconds, operation, true);
    if (this.down) diag.info('bedrock-finops: the Redis budget store is reachable again');
    this.down = false;
  }

  failed(operation: string, seconds: number, error: unknown): void {
    this.events.errors++;
    this.tell(seconds, operation, false);
    this.goDown(error instanceof Error ? `${error.name}: ${error.message}` : 'a script failed');
  }

  /** A script has waited `storeTimeoutMs` of Redis time without an answer (it is still pending). */
  timedOut(timeoutMs: number): void {
    this.events.timeouts++;
    this.goDown(`no answer within ${timeoutMs} ms`);
  }

  private goDown(why: string): void {
    if (!this.down) diag.warn(`bedrock-finops: the Redis budget store is unreachable (${why}); calls go on within the slices this process holds, then onStoreError applies`);
    this.down = true;
  }
}
