import { addUnits, exceededField, isZeroUnits, subUnits, ZERO_UNITS, type UnitField, type Units } from './amounts.js';
import { IDS_KEPT } from './committed-ids.js';
import type { BudgetStore, CommitRequest, CommitResult, CounterRef, CounterState, ReservationEntry, ReserveRequest, ReserveResult } from './store.js';

interface Counter {
  used: Units;
  reserved: Units;
  windowEnd: number;
}

/** Held: reserved, not settled. Expired: its lease ran out and the sweep released it. Committed: settled (the id is remembered, nothing else). */
const HELD = 0;
const EXPIRED = 1;
const COMMITTED = 2;

/** A reservation id the store knows: the counters it holds (by reference) and where it stands. */
interface Reservation {
  entries: readonly ReservationEntry[];
  counters: readonly Counter[];
  readonly expiresAt: number;
  state: typeof HELD | typeof EXPIRED | typeof COMMITTED;
}

const SWEEP_EVERY_MS = 1_000;
const NONE: readonly { index: number; field: UnitField }[] = Object.freeze([]);
const NO_COUNTERS: readonly Counter[] = Object.freeze([]);
const NO_ENTRIES: readonly ReservationEntry[] = Object.freeze([]);

/**
 * The reservation ids a store knows, in two generations (like `CommittedIds`): ids go to the
 * young map; after {@link IDS_KEPT} of them it becomes the old one and the old one is dropped
 * whole, except reservations still held, which move to the young map. Nothing is deleted one id
 * at a time: per call one insert and one or two lookups, where a map of live reservations beside
 * a set of committed ids cost five hash operations, a delete and the table resizing it caused
 * (the in-memory store allocated 1.5 KB per call, now 0.5 KB).
 */
class ReservationIds {
  private young = new Map<string, Reservation>();
  private old = new Map<string, Reservation>();
  private added = 0;

  get(id: string): Reservation | undefined {
    return this.young.get(id) ?? this.old.get(id);
  }

  add(id: string, r: Reservation): void {
    if (++this.added > IDS_KEPT) this.rotate();
    this.young.set(id, r);
  }

  /** Keeps a settled id among the young ones, so it is remembered for at least {@link IDS_KEPT} more ids. */
  keep(id: string, r: Reservation): void {
    if (this.young.get(id) !== r) this.add(id, r);
  }

  private rotate(): void {
    const dropped = this.old;
    this.old = this.young;
    this.young = new Map();
    this.added = 1;
    for (const [id, r] of dropped) if (r.state === HELD && this.old.get(id) === undefined) this.young.set(id, r);
  }

  *values(): IterableIterator<Reservation> {
    yield* this.young.values();
    yield* this.old.values();
  }
}

/**
 * The default budget store and the reference for every other: counters in this process's
 * memory, integers only. Synchronous, so admission awaits nothing. Expired leases and ended
 * windows are swept as calls come in.
 */
export class MemoryBudgetStore implements BudgetStore {
  private readonly counters = new Map<string, Counter>();
  // Idempotency without tracking every id forever: a repeated reserve or commit of one of the
  // last IDS_KEPT ids (at least) changes nothing.
  private readonly ids = new ReservationIds();
  private nextSweep = 0;

  private counter(key: string, windowEnd: number): Counter {
    let c = this.counters.get(key);
    if (c === undefined) {
      c = { used: ZERO_UNITS, reserved: ZERO_UNITS, windowEnd };
      this.counters.set(key, c);
    }
    return c;
  }

  /** Gives back what `r` holds; it keeps its id and state only. */
  private release(r: Reservation): void {
    for (let i = 0; i < r.counters.length; i++) {
      const c = r.counters[i] as Counter;
      c.reserved = subUnits(c.reserved, (r.entries[i] as ReservationEntry).amounts);
    }
    r.entries = NO_ENTRIES;
    r.counters = NO_COUNTERS;
  }

  private sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + SWEEP_EVERY_MS;
    for (const r of this.ids.values()) {
      if (r.state !== HELD || r.expiresAt > now) continue;
      r.state = EXPIRED;
      this.release(r);
    }
    // A counter outlives its window by a day so late commits still land on it.
    for (const [key, c] of this.counters) if (c.windowEnd + 86_400_000 < now && isZeroUnits(c.reserved)) this.counters.delete(key);
  }

  reserve(request: ReserveRequest): ReserveResult {
    this.sweep(request.now);
    const entries = request.entries;
    // Arrays of the exact size: an empty array's first push allocates room for 17.
    const states = new Array<CounterState>(entries.length);
    const counters = new Array<Counter>(entries.length);
    let exceeded: { index: number; field: UnitField }[] | undefined;
    let rejected: { index: number; field: UnitField } | undefined;
    // A repeated reserve (a re-sent request) changes nothing and admits again.
    // An expired id reserves again (its lease ran out: nothing of it is held any more).
    const prior = this.ids.get(request.id);
    const repeated = prior !== undefined && prior.state !== EXPIRED;
    for (let index = 0; index < entries.length; index++) {
      const entry = entries[index] as ReservationEntry;
      const c = this.counter(entry.key, entry.windowEnd);
      counters[index] = c;
      states[index] = { used: c.used, reserved: c.reserved };
      if (repeated) continue;
      const over = exceededField(entry.limits, c.used, c.reserved, entry.amounts);
      if (over === undefined) continue;
      if (entry.enforce) rejected ??= { index, field: over };
      else (exceeded ??= []).push({ index, field: over });
    }
    if (rejected !== undefined) return { admitted: false, rejected, exceeded: exceeded ?? NONE, states };
    if (repeated) return { admitted: true, rejected: undefined, exceeded: NONE, states };
    for (let i = 0; i < counters.length; i++) {
      const c = counters[i] as Counter;
      c.reserved = addUnits(c.reserved, (entries[i] as ReservationEntry).amounts);
    }
    this.ids.add(request.id, { entries, counters, expiresAt: request.now + request.leaseMs, state: HELD });
    return { admitted: true, rejected: undefined, exceeded: exceeded ?? NONE, states };
  }

  commit(request: CommitRequest): CommitResult {
    const r = this.ids.get(request.id);
    if (r?.state === COMMITTED) return { applied: false, before: [], after: [] };
    if (r === undefined) {
      // An unknown id (a call let through while a store failed) still counts, once.
      this.ids.add(request.id, { entries: NO_ENTRIES, counters: NO_COUNTERS, expiresAt: 0, state: COMMITTED });
    } else {
      // A held reservation is released; an expired one (released by the sweep) still counts, once.
      if (r.state === HELD) this.release(r);
      r.state = COMMITTED;
      this.ids.keep(request.id, r);
    }
    const entries = request.entries;
    const before = new Array<Units>(entries.length);
    const after = new Array<Units>(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as CommitRequest['entries'][number];
      const c = this.counter(entry.key, entry.windowEnd);
      before[i] = c.used;
      c.used = addUnits(c.used, entry.actual);
      after[i] = c.used;
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
