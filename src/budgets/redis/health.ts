import type { BudgetStoreObserver } from '../store.js';
import { Reachability } from './reachability.js';

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
 * Whether Redis is reachable, as the store's own round trips show it, per part of Redis (one
 * server, or the Cluster slot of a budget's keys: see `Reachability`): unavailable after a script
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
  private readonly reach: Reachability;
  private readonly observers = new Set<BudgetStoreObserver>();

  constructor(client: unknown) {
    this.reach = new Reachability(client, 'budget', 'calls go on within the slices this process holds, then onStoreError applies');
  }

  /** Whether some part of Redis is unreachable now. */
  get unavailable(): boolean {
    return this.reach.anyDown;
  }

  /** Whether the part of Redis holding `key` is unreachable now. */
  unavailableFor(key: string): boolean {
    return this.reach.isDown(key);
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

  /** A script on `key` was answered. */
  answered(operation: string, seconds: number, key: string): void {
    this.tell(seconds, operation, true);
    this.reach.up(key);
  }

  /** A script on `key` failed. */
  failed(operation: string, seconds: number, error: unknown, key: string): void {
    this.events.errors++;
    this.tell(seconds, operation, false);
    this.reach.goDown(key, error instanceof Error ? `${error.name}: ${error.message}` : 'a script failed', error);
  }

  /** A script on `key` has waited `storeTimeoutMs` of Redis time without an answer (it is still pending). */
  timedOut(timeoutMs: number, key: string): void {
    this.events.timeouts++;
    this.reach.goDown(key, `no answer within ${timeoutMs} ms`);
  }
}
