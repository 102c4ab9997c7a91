import { diag } from '@opentelemetry/api';
import type { BudgetStoreObserver } from '../store.js';
import { Prober } from './prober.js';
import { Reachability } from './reachability.js';
import type { ScriptRunner } from './redis-client.js';

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
  | 'dropped'
  | 'counters_lost';

/**
 * Whether Redis is reachable, as the store's own round trips show it, per part of Redis (one
 * server, or one Cluster node: see `Reachability`): unavailable after a script
 * fails or stays unanswered past `storeTimeoutMs` of Redis time, available again at the next
 * answer. While a part is unavailable, `probe()` asks it (one tiny script per part at a time), so
 * an idle process does not report an outage that ended. Counts events and tells observers about
 * every round trip: budget scripts, probes and housekeeping (pruning, the eviction-policy check)
 * alike, so `round_trips` is all the Redis work the store causes.
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
    counters_lost: 0,
  };
  private readonly reach: Reachability;
  private readonly observers = new Set<BudgetStoreObserver>();
  private readonly prober: Prober;

  constructor(
    client: unknown,
    run: ScriptRunner,
    /** The least time between two probes of one part (a server answering BUSY or LOADING answers at once, to every call). */
    probeGapMs = 0,
  ) {
    this.reach = new Reachability(client, 'budget', 'calls go on within the slices this process holds, then onStoreError applies');
    this.prober = new Prober(this.reach, run, probeGapMs, (seconds, ok) => {
      this.tell(seconds, 'probe', ok);
    });
  }

  /** Whether some part of Redis is unreachable now. */
  get unavailable(): boolean {
    return this.reach.anyDown;
  }

  /** Whether the part of Redis holding `key` is unreachable now. */
  unavailableFor(key: string): boolean {
    return this.reach.isDown(key);
  }

  /** Whether `key`'s budget drew an error reply (a script on it, not a probe, tells when that ends). */
  refusedFor(key: string): boolean {
    return this.reach.isRefused(key);
  }

  /** Asks each part of Redis that went silent or failed whether it answers again (see `Prober`). */
  probe(): void {
    this.prober.probe();
  }

  private warnedLost = false;

  /** Redis answered a holder it had answered before with no record of it: it lost the counter (restart without persistence, FLUSHALL, eviction). */
  lost(budget: string): void {
    this.events.counters_lost++;
    if (this.warnedLost) return;
    this.warnedLost = true;
    diag.error(
      `bedrock-finops: Redis lost a counter of budget ${JSON.stringify(budget)} (restarted without persistence, FLUSHALL, or evicted): calls needing new room on it are refused store-unavailable for half of sliceTtlMs while live slices report their usage again, and room is then leased against the most usage this process had seen; usage of processes that had given their slices back is gone (counted in bedrock_finops.budget.store.events as counters_lost)`,
    );
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

  /** A housekeeping script ended (pruning, the eviction-policy check): counted, without changing what is known of reachability. */
  housekeeping(operation: string, seconds: number, ok: boolean): void {
    this.tell(seconds, operation, ok);
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
