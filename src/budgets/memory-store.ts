import { addUnits, exceededField, isZeroUnits, subUnits, ZERO_UNITS, type UnitField, type UnitLimits, type Units } from './amounts.js';
import { COMMITTED, EXPIRED, HELD, NO_COUNTERS, NO_ENTRIES, Reservation, ReservationIds, type Counter } from './reservation-ids.js';
import { types } from 'node:util';
import type { BudgetStore, CommitRequest, CommitResult, CounterRef, CounterState, ReservationEntry, ReserveRequest, ReserveResult } from './store.js';

const SWEEP_EVERY_MS = 1_000;
const NONE: readonly { index: number; field: UnitField }[] = Object.freeze([]);

/** Counter `key`'s state in `counters` (zero when there is none). */
function stateOf(counters: ReadonlyMap<string, Counter>, key: string): CounterState {
  const c = counters.get(key);
  return c === undefined ? { used: ZERO_UNITS, reserved: ZERO_UNITS } : { used: c.used, reserved: c.reserved };
}

/** What the direct paths need of a counter key (admission's `CounterKey`). */
export interface DirectKey {
  readonly id: string;
  readonly end: number;
  readonly rule: { readonly unitLimits: UnitLimits };
}

/**
 * The in-memory store's direct paths, under symbols the package does not export: they are not part
 * of the store's API (they trust admission's fresh ids and its handles; `reserve()` and `commit()`
 * are what a caller of the store uses).
 */
export const RESERVE_FITTING: unique symbol = Symbol('reserveFitting');
export const COMMIT_HELD: unique symbol = Symbol('commitHeld');
export const PEEK: unique symbol = Symbol('peek');

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
  private lastSweep = 0;

  private counter(key: string, windowEnd: number): Counter {
    let c = this.counters.get(key);
    if (c === undefined) {
      c = { used: ZERO_UNITS, reserved: ZERO_UNITS, windowEnd, deleted: false };
      this.counters.set(key, c);
    }
    return c;
  }

  /** Gives back what `r` holds; it keeps its id and state only. */
  private release(r: Reservation): void {
    const same = r.amounts;
    for (let i = 0; i < r.counters.length; i++) {
      const c = r.counters[i] as Counter;
      c.reserved = subUnits(c.reserved, same ?? (r.entries[i] as ReservationEntry).amounts);
    }
    r.entries = NO_ENTRIES;
    r.counters = NO_COUNTERS;
    r.amounts = undefined;
  }

  private sweep(now: number): void {
    // Once a second, and at once when the clock went back (or a caller's `now` ran ahead).
    if (now < this.nextSweep && now >= this.lastSweep) return;
    this.lastSweep = now;
    this.nextSweep = now + SWEEP_EVERY_MS;
    this.ids.expire(now, (r) => {
      r.state = EXPIRED;
      this.release(r);
      this.ids.settled(r, false);
    });
    // A counter outlives its window by a day so late commits still land on it.
    for (const [key, c] of this.counters)
      if (c.windowEnd + 86_400_000 < now && isZeroUnits(c.reserved)) {
        c.deleted = true;
        this.counters.delete(key);
      }
  }

  /** What `c` holds, plus what earlier entries of the same request put on it (two entries on one counter are checked together). */
  private reservedBefore(c: Counter, counters: readonly Counter[], entries: readonly ReservationEntry[], index: number): Units {
    let reserved = c.reserved;
    for (let j = 0; j < index; j++) if (counters[j] === c) reserved = addUnits(reserved, (entries[j] as ReservationEntry).amounts);
    return reserved;
  }

  reserve(request: ReserveRequest): ReserveResult {
    this.sweep(request.now);
    const entries = request.entries;
    // Arrays of the exact size: an empty array's first push allocates room for 17.
    const states = new Array<CounterState>(entries.length);
    const counters = new Array<Counter>(entries.length);
    let exceeded: { index: number; field: UnitField }[] | undefined;
    let rejected: { index: number; field: UnitField } | undefined;
    // A repeated reserve (a re-sent request) changes nothing and admits again. An expired id
    // reserves again (its lease ran out: nothing of it is held any more). A fresh id was never sent.
    const prior = request.fresh === true ? undefined : this.ids.get(request.id);
    const repeated = prior !== undefined && prior.state !== EXPIRED;
    for (let index = 0; index < entries.length; index++) {
      const entry = entries[index] as ReservationEntry;
      const c = this.counter(entry.key, entry.windowEnd);
      counters[index] = c;
      states[index] = { used: c.used, reserved: c.reserved };
      if (repeated) continue;
      const over = exceededField(entry.limits, c.used, this.reservedBefore(c, counters, entries, index), entry.amounts);
      if (over === undefined) continue;
      if (entry.enforce) rejected ??= { index, field: over };
      else (exceeded ??= []).push({ index, field: over });
    }
    if (rejected !== undefined) return { admitted: false, rejected, exceeded: exceeded ?? NONE, states };
    if (repeated) return { admitted: true, rejected: undefined, exceeded: NONE, states, handle: prior };
    for (let i = 0; i < counters.length; i++) {
      const c = counters[i] as Counter;
      c.reserved = addUnits(c.reserved, (entries[i] as ReservationEntry).amounts);
    }
    // A re-sent reserve of an expired id takes its place: a commit with the expired one's handle is looked up by id.
    if (prior !== undefined) prior.replaced = true;
    const r = new Reservation(this, request.id, entries, counters, request.now + request.leaseMs, HELD);
    this.ids.add(r);
    return { admitted: true, rejected: undefined, exceeded: exceeded ?? NONE, states, handle: r };
  }

  commit(request: CommitRequest): CommitResult {
    const h = request.handle;
    // The handle this store answered for the same id, or a lookup by id.
    const r = h instanceof Reservation && h.store === this && h.id === request.id && this.ids.trusts(h) ? h : this.ids.get(request.id);
    if (r?.state === COMMITTED) return { applied: false, before: [], after: [] };
    // The counters the reservation held, for the commit's entries on the same keys (no lookup).
    const held = r?.counters ?? NO_COUNTERS;
    const heldEntries = r?.entries ?? NO_ENTRIES;
    if (r === undefined) {
      // An unknown id (a call let through while a store failed) still counts, once.
      this.ids.add(new Reservation(this, request.id, NO_ENTRIES, NO_COUNTERS, 0, COMMITTED));
    } else {
      // A held reservation is released; an expired one (released by the sweep) still counts, once.
      if (r.state === HELD) this.release(r);
      r.state = COMMITTED;
      this.ids.settled(r, true);
    }
    const entries = request.entries;
    const before = new Array<Units>(entries.length);
    const after = new Array<Units>(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as CommitRequest['entries'][number];
      const mine = heldEntries[i]?.key === entry.key ? held[i] : undefined;
      const c = mine !== undefined && !mine.deleted ? mine : this.counter(entry.key, entry.windowEnd);
      before[i] = c.used;
      c.used = addUnits(c.used, entry.actual);
      after[i] = c.used;
    }
    return { applied: true, before, after };
  }

  /**
   * Admission's direct path (no request or result objects): reserves `amounts` on every key's
   * counter and answers the handle, when each fits under its limits and no two keys share a
   * counter. Otherwise it changes nothing and answers `undefined`: `reserve()` then decides
   * (refusals and warnings). `id` must be fresh.
   */
  [RESERVE_FITTING](id: string, keys: readonly DirectKey[], amounts: Units, now: number, leaseMs: number): Reservation | undefined {
    this.sweep(now);
    const counters = new Array<Counter>(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as DirectKey;
      const c = this.counter(key.id, key.end);
      for (let j = 0; j < i; j++) if (counters[j] === c) return undefined;
      if (exceededField(key.rule.unitLimits, c.used, c.reserved, amounts) !== undefined) return undefined;
      counters[i] = c;
    }
    for (let i = 0; i < counters.length; i++) {
      const c = counters[i] as Counter;
      c.reserved = addUnits(c.reserved, amounts);
    }
    const r = new Reservation(this, id, NO_ENTRIES, counters, now + leaseMs, HELD, amounts);
    this.ids.add(r);
    return r;
  }

  /**
   * Settlement's direct path: commits `actual` on every counter of `handle` (this store's, for
   * `id`, still held and trusted; `keys` the ones it was reserved on, in order) and releases it,
   * as `commit()` would. Answers `false`, changing nothing, for any other handle: `commit()` then does.
   */
  [COMMIT_HELD](id: string, handle: unknown, keys: readonly DirectKey[], actual: Units): boolean {
    if (!(handle instanceof Reservation) || handle.store !== this || handle.id !== id || handle.state !== HELD || !this.ids.trusts(handle)) return false;
    const counters = handle.counters;
    if (counters.length !== keys.length) return false;
    this.release(handle);
    handle.state = COMMITTED;
    this.ids.settled(handle, true);
    for (let i = 0; i < counters.length; i++) {
      const mine = counters[i] as Counter;
      const key = keys[i] as DirectKey;
      const c = mine.deleted ? this.counter(key.id, key.end) : mine;
      c.used = addUnits(c.used, actual);
    }
    return true;
  }

  /** The live state of counter `key` (expired leases swept first, as `read()` does). */
  [PEEK](key: string, now: number): CounterState {
    this.sweep(now);
    return stateOf(this.counters, key);
  }

  read(counters: readonly CounterRef[], now: number): readonly CounterState[] {
    this.sweep(now);
    return counters.map(({ key }) => stateOf(this.counters, key));
  }
}

const PROTO = MemoryBudgetStore.prototype;

/**
 * Whether `store` still has the built-in store's own methods: a caller may replace one on the
 * instance (to audit its commits, to fail it in a test of `onStoreError`); then every call goes
 * through them. Checked per call (three reads).
 */
export function unchanged(store: MemoryBudgetStore): boolean {
  return store.reserve === PROTO.reserve && store.commit === PROTO.commit && store.read === PROTO.read;
}

/**
 * `store` when it is the built-in in-memory store itself (not a subclass, which may change its
 * methods, nor a Proxy, which may watch them): admission and settlement may then take its direct
 * paths while {@link unchanged}.
 */
export function directStore(store: BudgetStore): MemoryBudgetStore | undefined {
  return store instanceof MemoryBudgetStore && !types.isProxy(store) && Object.getPrototypeOf(store) === PROTO && unchanged(store) ? store : undefined;
}
