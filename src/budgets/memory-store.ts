import { addInto, exceededLimit, zeroAmounts, type Amounts, type LimitType } from './amounts.js';
import type { BudgetStore, CommitRequest, CommitResult, CounterState, ReserveRequest, ReserveResult } from './store.js';

interface Counter {
  readonly used: Amounts;
  readonly reserved: Amounts;
  windowEnd: number;
}

interface Reservation {
  readonly keys: readonly string[];
  readonly amounts: readonly Readonly<Amounts>[];
  readonly expiresAt: number;
}

const SWEEP_EVERY_MS = 1_000;
const COMMITTED_IDS_KEPT = 10_000;
const ZERO: Readonly<Amounts> = Object.freeze(zeroAmounts());

/**
 * The default budget store: counters in this process's memory. Synchronous, so admission awaits
 * nothing. Expired leases and ended windows are swept as calls come in.
 */
export class MemoryBudgetStore implements BudgetStore {
  private readonly counters = new Map<string, Counter>();
  private readonly reservations = new Map<string, Reservation>();
  private readonly committed = new Set<string>();
  private nextSweep = 0;

  private counter(key: string, windowEnd: number): Counter {
    let c = this.counters.get(key);
    if (c === undefined) {
      c = { used: zeroAmounts(), reserved: zeroAmounts(), windowEnd };
      this.counters.set(key, c);
    }
    return c;
  }

  private sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + SWEEP_EVERY_MS;
    for (const [id, r] of this.reservations) {
      if (r.expiresAt > now) continue;
      this.reservations.delete(id);
      r.keys.forEach((key, i) => {
        const c = this.counters.get(key);
        const amounts = r.amounts[i];
        if (c !== undefined && amounts !== undefined) addInto(c.reserved, amounts, -1);
      });
    }
    for (const [key, c] of this.counters) {
      // A counter outlives its window by a day so late commits still land on it.
      if (c.windowEnd + 86_400_000 < now && isZero(c.reserved)) this.counters.delete(key);
    }
  }

  reserve(request: ReserveRequest): ReserveResult {
    this.sweep(request.now);
    const states: CounterState[] = [];
    const exceeded: { index: number; limit: LimitType }[] = [];
    let rejected: { index: number; limit: LimitType } | undefined;
    const counters: Counter[] = [];
    request.entries.forEach((entry, index) => {
      const c = this.counter(entry.key, entry.windowEnd);
      counters.push(c);
      states.push({ used: { ...c.used }, reserved: { ...c.reserved } });
      const over = exceededLimit(entry.limits, c.used, c.reserved, entry.amounts);
      if (over === undefined) return;
      if (entry.enforce) rejected ??= { index, limit: over };
      else exceeded.push({ index, limit: over });
    });
    if (rejected !== undefined) return { admitted: false, rejected, exceeded, states };
    request.entries.forEach((entry, i) => {
      const c = counters[i];
      if (c !== undefined) addInto(c.reserved, entry.amounts);
    });
    this.reservations.set(request.id, {
      keys: request.entries.map((e) => e.key),
      amounts: request.entries.map((e) => e.amounts),
      expiresAt: request.now + request.leaseMs,
    });
    return { admitted: true, rejected: undefined, exceeded, states };
  }

  commit(request: CommitRequest): CommitResult {
    if (this.committed.has(request.id)) return { applied: false, before: [], after: [] };
    this.committed.add(request.id);
    if (this.committed.size > COMMITTED_IDS_KEPT) {
      const oldest = this.committed.values().next().value;
      if (oldest !== undefined) this.committed.delete(oldest);
    }
    const reservation = this.reservations.get(request.id);
    this.reservations.delete(request.id);
    if (reservation !== undefined) {
      reservation.keys.forEach((key, i) => {
        const c = this.counters.get(key);
        const amounts = reservation.amounts[i];
        if (c !== undefined && amounts !== undefined) addInto(c.reserved, amounts, -1);
      });
    }
    const before: Amounts[] = [];
    const after: Amounts[] = [];
    for (const entry of request.entries) {
      const c = this.counter(entry.key, entry.windowEnd);
      before.push({ ...c.used });
      addInto(c.used, entry.actual);
      after.push({ ...c.used });
    }
    return { applied: true, before, after };
  }

  read(keys: readonly string[], now: number): readonly CounterState[] {
    this.sweep(now);
    return keys.map((key) => {
      const c = this.counters.get(key);
      return c === undefined ? { used: ZERO, reserved: ZERO } : { used: { ...c.used }, reserved: { ...c.reserved } };
    });
  }
}

function isZero(a: Readonly<Amounts>): boolean {
  return Math.abs(a.tokens) < 1e-9 && Math.abs(a.inputTokens) < 1e-9 && Math.abs(a.outputTokens) < 1e-9 && Math.abs(a.costUsd) < 1e-12;
}
