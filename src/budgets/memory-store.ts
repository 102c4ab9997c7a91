import { addUnits, exceededField, isZeroUnits, subUnits, ZERO_UNITS, type UnitField, type Units } from './amounts.js';
import { IDS_KEPT } from './committed-ids.js';
import type { BudgetStore, CommitRequest, CommitResult, CounterRef, CounterState, ReservationEntry, ReserveRequest, ReserveResult } from './store.js';

interface Counter {
  used: Units;
  reserved: Units;
  windowEnd: number;
}

/** A reservation: live (held until its lease expires), or committed (kept a while to recognise a repeat). */
interface Held {
  keys: readonly string[];
  amounts: readonly Units[];
  expiresAt: number;
  committed: boolean;
}

const NO_KEYS: readonly string[] = Object.freeze([]);
const NO_AMOUNTS: readonly Units[] = Object.freeze([]);

const SWEEP_EVERY_MS = 1_000;
const NONE: readonly { index: number; field: UnitField }[] = Object.freeze([]);

/**
 * The default budget store and the reference for every other: counters in this process's
 * memory, integers only. Synchronous, so admission awaits nothing. Expired leases and ended
 * windows are swept as calls come in.
 */
export class MemoryBudgetStore implements BudgetStore {
  private readonly counters = new Map<string, Counter>();
  // Live reservations and, for idempotency without tracking every id forever, the last
  // IDS_KEPT committed ones (a bounded ring says which to forget): one map, so a call costs two
  // lookups and a write here.
  private readonly held = new Map<string, Held>();
  private readonly ring: (string | undefined)[] = new Array<string | undefined>(IDS_KEPT);
  private ringAt = 0;
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

  /** Keeps a committed id among the last IDS_KEPT, forgetting the oldest. */
  private remember(id: string): void {
    const forgotten = this.ring[this.ringAt];
    // Ids in the ring are committed: a committed id is never reserved again.
    if (forgotten !== undefined) this.held.delete(forgotten);
    this.ring[this.ringAt] = id;
    this.ringAt = this.ringAt + 1 === IDS_KEPT ? 0 : this.ringAt + 1;
  }

  reserve(request: ReserveRequest): ReserveResult {
    this.sweep(request.now);
    const entries = request.entries;
    const states: CounterState[] = [];
    const counters: Counter[] = [];
    let exceeded: { index: number; field: UnitField }[] | undefined;
    let rejected: { index: number; field: UnitField } | undefined;
    // A repeated reserve (a re-sent request) changes nothing and admits again.
    const repeated = this.held.get(request.id) !== undefined;
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
    this.held.set(request.id, { keys, amounts, expiresAt: request.now + request.leaseMs, committed: false });
    return { admitted: true, rejected: undefined, exceeded: exceeded ?? NONE, states };
  }

  commit(request: CommitRequest): CommitResult {
    const h = this.held.get(request.id);
    if (h?.committed === true) return { applied: false, before: [], after: [] };
    // An expired or unknown id (a call let through while a store failed) still counts, once.
    if (h === undefined) this.held.set(request.id, { keys: NO_KEYS, amounts: NO_AMOUNTS, expiresAt: Infinity, committed: true });
    else {
      this.release(h);
      h.committed = true;
      h.expiresAt = Infinity;
      h.keys = NO_KEYS;
      h.amounts = NO_AMOUNTS;
    }
    this.remember(request.id);
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
