import type { Settlement } from '../call.js';
import { LIMIT_TYPES, FIELD_OF, subUnits, units, type Units } from './amounts.js';
import type { Reservation } from './admission.js';
import type { CounterKey } from './counter-key.js';
import type { BudgetContext } from './context.js';
import { COMMIT_HELD, unchanged, type MemoryBudgetStore } from './memory-store.js';
import type { CommitEntry, CommitResult } from './store.js';
import { isPromise } from '../promise-like.js';

/** Whether any of `keys`' rules has `alertAt` thresholds (a commit must then report what it crossed). */
function alerts(keys: readonly CounterKey[]): boolean {
  for (let i = 0; i < keys.length; i++) if ((keys[i] as CounterKey).rule.alertAt.length > 0) return true;
  return false;
}

/**
 * Settlement: when a call settles, its actual usage is committed to every counter it reserved on
 * and the reservation released (one idempotent store operation), then `alertAt` thresholds the
 * commit crossed fire their events. Never throws.
 */
export class BudgetSettlement {
  /** Commits still being written (an asynchronous store), awaited by {@link drain}. */
  private readonly pending = new Set<Promise<void>>();

  /** The built-in in-memory store when the known counters read it live: its direct path then commits. */
  private readonly direct: MemoryBudgetStore | undefined;

  constructor(private readonly c: BudgetContext) {
    this.direct = c.known.liveStore(c.store);
  }

  /** What the settled call is charged, in store units: its billed tokens (cache included in input) and cost. */
  static actual(settlement: Settlement): Units {
    const r = settlement.record;
    return units({ inputTokens: r.inputTokens + r.cacheReadInputTokens + r.cacheWriteInputTokens, outputTokens: r.outputTokens }, r.costUsd ?? 0);
  }

  settle(reservation: Reservation, settlement: Settlement): void {
    const actual = BudgetSettlement.actual(settlement);
    const { keys } = reservation;
    // No alertAt to check and the reservation held on the built-in store (the common case): committed with no request or result objects.
    if (this.direct !== undefined && !alerts(keys) && unchanged(this.direct) && this.direct[COMMIT_HELD](reservation.id, reservation.handle, keys, actual)) return;
    this.commitInStore(reservation, actual, settlement);
  }

  /** The general path (any store, or alertAt to check): a commit request, then the thresholds it crossed. Apart, so the direct path compiles small. */
  private commitInStore(reservation: Reservation, actual: Units, settlement: Settlement): void {
    const c = this.c;
    const { keys } = reservation;
    const entries = new Array<CommitEntry>(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as CounterKey;
      entries[i] = { key: key.id, budget: key.rule.name, actual, windowEnd: key.end };
    }
    try {
      const result = c.store.commit({ id: reservation.id, entries, now: Date.now(), handle: reservation.handle });
      if (!isPromise(result)) {
        this.afterCommit(reservation, result, settlement);
        return;
      }
      const done = result.then(
        (r) => {
          this.afterCommit(reservation, r, settlement);
        },
        (error: unknown) => {
          c.counters.storeErrors++;
          c.reporter.error('commit', 'the budget store could not commit usage', error);
        },
      );
      this.pending.add(done);
      void done.finally(() => this.pending.delete(done));
    } catch (error) {
      c.counters.storeErrors++;
      c.reporter.error('commit', 'the budget store could not commit usage', error);
    }
  }

  private afterCommit(reservation: Reservation, result: CommitResult, settlement: Settlement): void {
    if (!result.applied) return;
    for (let i = 0; i < reservation.keys.length; i++) {
      const before = result.before[i];
      const after = result.after[i];
      if (before !== undefined && after !== undefined) this.crossed(reservation.keys[i] as CounterKey, reservation, before, after, settlement);
    }
  }

  private crossed(key: CounterKey, reservation: Reservation, before: Units, after: Units, settlement: Settlement): void {
    const c = this.c;
    const known = c.known.live === undefined ? c.known.get(key) : undefined;
    if (known !== undefined) c.known.remember(key, { used: after, reserved: reservation.reserved ? subUnits(known.reserved, reservation.estimate) : known.reserved });
    for (const fraction of key.rule.alertAt) {
      for (const limitType of LIMIT_TYPES) {
        const f = FIELD_OF[limitType];
        const limit = key.rule.unitLimits[f];
        if (limit === undefined) continue;
        const mark = fraction * limit;
        if (before[f] < mark && after[f] >= mark) {
          c.counters.alerted(key.rule.name, fraction);
          c.events.emit('threshold', key, limitType, { used: after[f], threshold: fraction }, { modelId: settlement.record.requestedModelId, attribution: settlement.record.attribution });
        }
      }
    }
  }

  /** Resolves when every commit in flight has been written (or failed and been buffered by the store). */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}
