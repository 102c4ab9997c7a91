import type { Units } from './amounts.js';
import { IDS_KEPT } from './committed-ids.js';
import type { ReservationEntry } from './store.js';

/** A counter of the in-memory store. `deleted` once its window is long over and the sweep dropped it. */
export interface Counter {
  used: Units;
  reserved: Units;
  readonly windowEnd: number;
  deleted: boolean;
}

/** Held: reserved, not settled. Expired: its lease ran out and the sweep released it. Committed: settled (the id is remembered, nothing else). */
export const HELD = 0;
export const EXPIRED = 1;
export const COMMITTED = 2;
export type ReservationState = typeof HELD | typeof EXPIRED | typeof COMMITTED;

export const NO_COUNTERS: readonly Counter[] = Object.freeze([]);
export const NO_ENTRIES: readonly ReservationEntry[] = Object.freeze([]);

/**
 * A reservation id the in-memory store knows: the counters it holds (by reference) and where it
 * stands. Also the handle `reserve` answers and `commit` takes back, so a commit finds its
 * reservation without a lookup.
 */
export class Reservation {
  /** The generation it was last added to. */
  generation = 0;
  /** Whether it waits in the long-held map (still held when its generation was dropped). */
  long = false;
  /** Set when a later reservation under the same id (a re-sent reserve after this one expired) took its place: a handle to it is not trusted. */
  replaced = false;
  constructor(
    readonly store: object,
    readonly id: string,
    public entries: readonly ReservationEntry[],
    public counters: readonly Counter[],
    readonly expiresAt: number,
    public state: ReservationState,
    /** What it holds on every counter, when it holds the same on each (the store's direct path keeps no entries). */
    public amounts?: Units,
  ) {}
}

/**
 * The reservations a store remembers, in two generations (like `CommittedIds`): a new reservation
 * goes to the young generation; after {@link IDS_KEPT} new ones it becomes the old one and the old
 * one is dropped whole. A reservation still held when its generation is dropped moves, once, to
 * the long-held ones, where it stays until it is settled or expires: nothing is deleted one at a
 * time on the call path, and no reservation is copied twice however many are held. The
 * generations are arrays; they are indexed by id (two maps) only once something asks by id (a
 * reserve re-sent, a commit without its handle). Admission does neither (`fresh` ids, commits
 * with the handle), so per call the store appends to an array, where a map of live reservations
 * beside a set of committed ids cost five hash operations and a delete on tables the SDK's work
 * between calls has pushed out of the CPU's caches.
 */
export class ReservationIds {
  private young: Reservation[] = [];
  private old: Reservation[] = [];
  /** New reservations added to the young generation (what fills it: moved ones do not count). */
  private added = 0;
  private generation = 0;
  /** The earliest lease end among each part's held reservations (at most: a sweep looks only where one may have ended). */
  private youngExpiry = Number.POSITIVE_INFINITY;
  private oldExpiry = Number.POSITIVE_INFINITY;
  private longExpiry = Number.POSITIVE_INFINITY;
  /** Long-held reservations, and the latest of them under each id. */
  private readonly longHeld = new Set<Reservation>();
  private readonly longById = new Map<string, Reservation>();
  /** The generations by id, once something has asked by id (then kept up to date). */
  private byId: { young: Map<string, Reservation>; old: Map<string, Reservation> } | undefined;

  get(id: string): Reservation | undefined {
    const byId = (this.byId ??= { young: ReservationIds.index(this.young), old: ReservationIds.index(this.old) });
    return byId.young.get(id) ?? byId.old.get(id) ?? this.longById.get(id);
  }

  /** The last reservation under each id wins, as it does in a map filled in order. */
  private static index(generation: readonly Reservation[]): Map<string, Reservation> {
    const map = new Map<string, Reservation>();
    for (const r of generation) map.set(r.id, r);
    return map;
  }

  /**
   * Whether a handle to `r` may stand for its id: while the store remembers it (held, or in the
   * two generations) and no later reservation under its id replaced it. A handle the store has
   * forgotten is looked up by id like any commit without one.
   */
  trusts(r: Reservation): boolean {
    return !r.replaced && (r.state === HELD || r.generation >= this.generation - 1);
  }

  add(r: Reservation): void {
    if (this.added >= IDS_KEPT) this.rotate();
    this.added++;
    r.generation = this.generation;
    this.young.push(r);
    this.byId?.young.set(r.id, r);
    if (r.state === HELD && r.expiresAt < this.youngExpiry) this.youngExpiry = r.expiresAt;
  }

  /**
   * `r` was committed (`committed`) or its lease ended. A long-held one leaves the long-held
   * ones; a committed one joins the young generation, so its id is remembered for
   * {@link IDS_KEPT} more like any other (an expired one is not: it counts once, as an unknown id).
   */
  settled(r: Reservation, committed: boolean): void {
    if (r.long) {
      r.long = false;
      this.longHeld.delete(r);
      if (this.longById.get(r.id) === r) this.longById.delete(r.id);
      if (committed) this.add(r);
    } else if (committed && r.generation !== this.generation) this.add(r);
  }

  private rotate(): void {
    const dropped = this.old;
    this.old = this.young;
    this.oldExpiry = this.youngExpiry;
    this.young = [];
    this.youngExpiry = Number.POSITIVE_INFINITY;
    this.added = 0;
    this.generation++;
    if (this.byId !== undefined) this.byId = { young: new Map(), old: this.byId.young };
    // Still held and not in the generation that stays (a kept one is): moved once, to the long-held ones.
    for (const r of dropped)
      if (r.state === HELD && !r.long && r.generation === this.generation - 2) {
        r.long = true;
        this.longHeld.add(r);
        this.longById.set(r.id, r);
        if (r.expiresAt < this.longExpiry) this.longExpiry = r.expiresAt;
      }
  }

  /** Calls `expire` for each held reservation whose lease ended by `now`, looking only where one may have. */
  expire(now: number, expire: (r: Reservation) => void): void {
    if (now >= this.youngExpiry) this.youngExpiry = ReservationIds.expireIn(this.young, now, expire);
    if (now >= this.oldExpiry) this.oldExpiry = ReservationIds.expireIn(this.old, now, expire);
    if (now >= this.longExpiry) this.longExpiry = ReservationIds.expireIn(this.longHeld, now, expire);
  }

  /** Expires what ended in `part`; answers the earliest lease end of what is still held there. */
  private static expireIn(part: Iterable<Reservation>, now: number, expire: (r: Reservation) => void): number {
    let earliest = Number.POSITIVE_INFINITY;
    // An expired long-held one leaves the set while it is walked (allowed for a Set); generations are not changed.
    for (const r of part) {
      if (r.state !== HELD) continue;
      if (r.expiresAt <= now) expire(r);
      else if (r.expiresAt < earliest) earliest = r.expiresAt;
    }
    return earliest;
  }
}
