import { addUnits, exceededField, isZeroUnits, subUnits, ZERO_UNITS, type UnitField, type Units } from './amounts.js';
import { CommittedIds } from './committed-ids.js';
import type { BudgetStore, CommitRequest, CommitResult, CounterRef, CounterState, ReservationEntry, ReserveRequest, ReserveResult } from './store.js';

interface Counter {
  used: Units;
  reserved: Units;
  windowEnd: number;
}

interface Held {
  readonly keys: readonly string[];
  readonly amounts: readonly Units[];
  readonly expiresAt: number;
}

const SWEEP_EVERY_MS = 1_000;
const NONE: readonly { index: number; field: UnitField }[] = Object.freeze([]);

/**
 * The default budget store and the reference for every other: counters in this process's
 * memory, integers only. Synchronous, so admission awaits nothing. Expired leases and ended
 * windows are swept as calls come in.
 */
export class MemoryBudgetStore implements BudgetStore {
  private readonly counters = new Map<string, Counter>();
  private readonly held = new Map<string, Held>();
  // Idempotency without tracking every id forever: a live reservation is committed once (it is
  // deleted then); the ids of the last committed reservations are remembered (bounded ring).
  private readonly committed = new CommittedIds();
  private nextSweep = 0;

  private counter(key: string, windowEnd: number): Counter {
    let c = this.counters.get(key);
    if (c === undefined) {
      c = { used: ZERO_UNITS, reserved: ZERO_UNITS, windowEnd };
      this.counters.set(key, c);
    }
    return c;
  }

  private release(h: Held): void {
    for (let i = 0; i < h.keys.length; i++) {
      const c = this.counters.get(h.keys[i] as string);
      const amounts = h.amounts[i];
      if (c !== undefined && amounts !== undefined) c.reserved = subUnits(c.reserved, amounts);
    }
  }

  private sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + SWEEP_EVERY_MS;
    for (const [id, h] of this.held) {
      if (h.expiresAt > now) continue;
      this.held.delete(id);
      this.release(h);
    }
    // A counter outlives its window by a day so late commits still land on it.
    for (const [key, c] of this.counters) if (c.windowEnd + 86_400_000 < now && isZeroUnits(c.reserved)) this.counters.delete(key);
  }

  reserve(request: ReserveRequest): ReserveResult {
    this.sweep(request.now);
    const entries = request.entries;
    const states: CounterState[] = [];
    const counters: Counter[] = [];
    let exceeded: { index: number; field: UnitField }[] | undefined;
    let rejected: { index: number; field: UnitField } | undefined;
    // A repeated reserve (a re-sent request) changes nothing and admits again.
    const repeated = this.held.has(request.id) || this.committed.has(request.id);
    for (let index = 0; index < entries.length; index++) {
      const entry = entries[index] as ReservationEntry;
      const c = this.counter(entry.key, entry.windowEnd);
      counters.push(c);
      states.push({ used: c.used, reserved: c.reserved });
      if (repeated) continue;
      const over = exceededField(entry.limits, c.used, c.reserved, entry.amounts);
      if (over === undefined) continue;
      if (entry.enforce) rejected ??= { index, field: over };
      else (exceeded ??= []).push({ index, field: over });
    }
    if (rejected !== undefined) return { admitted: false, rejected, exceeded: exceeded ?? NONE, states };
    if (repeated) return { admitted: true, rejected: undefined, exceeded: NONE, states };
    const keys: string[] = [];
    const amounts: Units[] = [];
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as ReservationEntry;
      const c = counters[i] as Counter;
      c.reserved = addUnits(c.reserved, entry.amounts);
      keys.push(entry.key);
      amounts.push(entry.amounts);
    }
    this.held.set(request.id, { keys, amounts, expiresAt: request.now + request.leaseMs });
    return { admitted: true, rejected: undefined, exceeded: exceeded ?? NONE, states };
  }

  commit(request: CommitRequest): CommitResult {
    const h = this.held.get(request.id);
    if (h === undefined && this.committed.has(request.id)) return { applied: false, before: [], after: [] };
    // An expired or unknown id (a call let through while a store failed) still counts, once.
    if (h !== undefined) {
      this.held.delete(request.id);
      this.release(h);
    }
    this.committed.add(request.id);
    const before: Units[] = [];
    const after: Units[] = [];
    for (const entry of request.entries) {
      const c = this.counter(entry.key, entry.windowEnd);
      before.push(c.used);
      c.used = addUnits(c.used, entry.actual);
      after.push(c.used);
    }
    return { applied: true, before, after };
  }

  read(counters: readonly CounterRef[], now: number): readonly CounterState[] {
    this.sweep(now);
    return counters.map(({ key }) => {
      const c = this.counters.get(key);
      return c === undefined ? { used: ZERO_UNITS, reserved: ZERO_UNITS } : { used: c.used, reserved: c.reserved };
    });
  }
}
