import { addInto, exceededLimit, zeroAmounts, type Amounts, type LimitType } from './amounts.js';
import type { BudgetStore, CommitRequest, CommitResult, CounterState, ReservationEntry, ReserveRequest, ReserveResult } from './store.js';

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
const EXPIRED_IDS_KEPT = 10_000;
const ZERO: Readonly<Amounts> = Object.freeze(zeroAmounts());

/**
 * The default budget store: counters in this process's memory. Synchronous, so admission awaits
 * nothing. Expired leases and ended windows are swept as calls come in.
 */
export class MemoryBudgetStore implements BudgetStore {
  private readonly counters = new Map<string, Counter>();
  private readonly reservations = new Map<string, Reservation>();
  // Idempotency without tracking every commit: a live reservation is committed once (it is
  // deleted then); an id whose lease expired is remembered (bounded ring) so its late commit still
  // counts once; any other id was already committed.
  private readonly expired = new Set<string>();
  private readonly expiredRing: (string | undefined)[] = new Array<string | undefined>(EXPIRED_IDS_KEPT);
  private ringIndex = 0;
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
      this.rememberExpired(id);
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
    const entries = request.entries;
    const states: CounterState[] = [];
    const counters: Counter[] = [];
    let exceeded: { index: number; limit: LimitType }[] | undefined;
    let rejected: { index: number; limit: LimitType } | undefined;
    for (let index = 0; index < entries.length; index++) {
      const entry = entries[index] as ReservationEntry;
      const c = this.counter(entry.key, entry.windowEnd);
      counters.push(c);
      states.push({ used: copy(c.used), reserved: copy(c.reserved) });
      const over = exceededLimit(entry.limits, c.used, c.reserved, entry.amounts);
      if (over === undefined) continue;
      if (entry.enforce) rejected ??= { index, limit: over };
      else (exceeded ??= []).push({ index, limit: over });
    }
    if (rejected !== undefined) return { admitted: false, rejected, exceeded: exceeded ?? NONE, states };
    const keys: string[] = [];
    const amounts: Readonly<Amounts>[] = [];
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as ReservationEntry;
      addInto((counters[i] as Counter).reserved, entry.amounts);
      keys.push(entry.key);
      amounts.push(entry.amounts);
    }
    this.reservations.set(request.id, { keys, amounts, expiresAt: request.now + request.leaseMs });
    return { admitted: true, rejected: undefined, exceeded: exceeded ?? NONE, states };
  }

  private rememberExpired(id: string): void {
    const evicted = this.expiredRing[this.ringIndex];
    if (evicted !== undefined) this.expired.delete(evicted);
    this.expiredRing[this.ringIndex] = id;
    this.ringIndex = (this.ringIndex + 1) % EXPIRED_IDS_KEPT;
    this.expired.add(id);
  }

  commit(request: CommitRequest): CommitResult {
    const reservation = this.reservations.get(request.id);
    if (reservation === undefined && !this.expired.delete(request.id)) return { applied: false, before: [], after: [] };
    if (reservation !== undefined) {
      this.reservations.delete(request.id);
      for (let i = 0; i < reservation.keys.length; i++) {
        const c = this.counters.get(reservation.keys[i] as string);
        const amounts = reservation.amounts[i];
        if (c !== undefined && amounts !== undefined) addInto(c.reserved, amounts, -1);
      }
    }
    const before: Amounts[] = [];
    const after: Amounts[] = [];
    for (const entry of request.entries) {
      const c = this.counter(entry.key, entry.windowEnd);
      before.push(copy(c.used));
      addInto(c.used, entry.actual);
      after.push(copy(c.used));
    }
    return { applied: true, before, after };
  }

  read(keys: readonly string[], now: number): readonly CounterState[] {
    this.sweep(now);
    return keys.map((key) => {
      const c = this.counters.get(key);
      return c === undefined ? { used: ZERO, reserved: ZERO } : { used: copy(c.used), reserved: copy(c.reserved) };
    });
  }
}

const NONE: readonly { index: number; limit: LimitType }[] = Object.freeze([]);

function copy(a: Readonly<Amounts>): Amounts {
  return { tokens: a.tokens, inputTokens: a.inputTokens, outputTokens: a.outputTokens, costUsd: a.costUsd };
}

function isZero(a: Readonly<Amounts>): boolean {
  return Math.abs(a.tokens) < 1e-9 && Math.abs(a.inputTokens) < 1e-9 && Math.abs(a.outputTokens) < 1e-9 && Math.abs(a.costUsd) < 1e-12;
}
