import { BudgetStoreUnavailableError } from '../../errors/budget-store-unavailable-error.js';
import type { UnitField, Units } from '../amounts.js';
import type { CounterState, ReservationEntry, ReserveRequest, ReserveResult } from '../store.js';
import type { StoreHealth } from './health.js';
import type { Lease } from './lease.js';
import type { RedisStoreSettings } from './options.js';
import type { ReservationBook } from './reservation-book.js';
import type { ScriptOutcome, SlicePump } from './slice-pump.js';

type Flag = { readonly index: number; readonly field: UnitField };
const NONE: readonly Flag[] = Object.freeze([]);
/** Rounds of "ask Redis, look again" before a call that keeps losing the room to others is refused. */
const MAX_ROUNDS = 8;

/** What entry `i` of the request reserves (one entry per lease, by construction). */
const amountsOf = (request: ReserveRequest, i: number): Units => (request.entries[i] as ReservationEntry).amounts;

/**
 * Admission against slices: synchronous when every counter's slice has room for the call (the
 * hot path far from the limit awaits nothing), otherwise it asks Redis for room (one script per
 * counter, shared with the calls waiting beside it) and looks again.
 */
export class SliceAdmission {
  constructor(
    private readonly book: ReservationBook,
    private readonly pump: SlicePump,
    private readonly health: StoreHealth,
    private readonly settings: RedisStoreSettings,
    private readonly isClosed: () => boolean,
  ) {}

  static states(leases: readonly Lease[]): CounterState[] {
    return leases.map((l) => l.view());
  }

  /** Reserves on every slice (all fit, or `warn` entries known to be over). */
  private place(request: ReserveRequest, leases: readonly Lease[], exceeded: readonly Flag[]): ReserveResult {
    const states = SliceAdmission.states(leases);
    const now = performance.now();
    leases.forEach((lease, i) => {
      lease.reserve(amountsOf(request, i), now);
    });
    this.book.add(
      request.id,
      leases,
      request.entries.map((e) => e.amounts),
      request.now + request.leaseMs,
    );
    return { admitted: true, rejected: undefined, exceeded, states };
  }

  private recentlyRefused(lease: Lease, now: number): boolean {
    return now - lease.refusedAt < this.settings.flushIntervalMs;
  }

  /** The local decision, or `undefined` when some slice lacks room and Redis must be asked. */
  tryLocal(request: ReserveRequest, leases: readonly Lease[]): ReserveResult | undefined {
    const now = performance.now();
    let exceeded: Flag[] | undefined;
    for (let i = 0; i < leases.length; i++) {
      const lease = leases[i] as Lease;
      const entry = request.entries[i];
      if (entry === undefined) continue;
      const field = lease.lacking(entry.amounts, now);
      if (field === undefined) continue;
      // A warn budget Redis just said is full: over it, without asking again.
      if (!entry.enforce && this.recentlyRefused(lease, now)) (exceeded ??= []).push({ index: i, field });
      else return undefined;
    }
    return this.place(request, leases, exceeded ?? NONE);
  }

  private unavailable(message: string): BudgetStoreUnavailableError {
    this.health.count('unavailable_admissions');
    return new BudgetStoreUnavailableError(message);
  }

  /** Asks Redis for room on the slices that lack it, until the call fits, is refused, or Redis does not answer in time. */
  async remote(request: ReserveRequest, leases: readonly Lease[]): Promise<ReserveResult> {
    const cancels: (() => void)[] = [];
    const exceeded = new Map<number, UnitField>();
    try {
      for (let round = 0; ; round++) {
        if (this.isClosed()) throw this.unavailable('the Redis budget store is closed');
        const now = performance.now();
        const lacking: number[] = [];
        leases.forEach((lease, i) => {
          const entry = request.entries[i];
          if (entry !== undefined && !exceeded.has(i) && !lease.fits(entry.amounts, now)) lacking.push(i);
        });
        const flags = (): Flag[] => [...exceeded].map(([index, field]) => ({ index, field }));
        if (lacking.length === 0) return this.place(request, leases, flags());
        if (round >= MAX_ROUNDS) return this.refuse(request, leases, lacking[0] as number, flags());
        // Known down where the call needs room (that Redis server, or the Cluster node of that
        // budget's slot): do not make the call wait. One probe per part of Redis finds when it is
        // back (not a script per budget: a paused node holding a thousand budgets costs one
        // timeout); a budget refused by an error reply is asked again with its own script.
        const down = lacking.filter((i) => this.health.unavailableFor((leases[i] as Lease).keys.counter));
        if (down.length > 0) {
          this.health.probe();
          for (const i of down) if (this.health.refusedFor((leases[i] as Lease).keys.counter)) void this.pump.send(leases[i] as Lease, 'flush');
          throw this.unavailable('Redis is unreachable and no slice of this process has room for the call');
        }
        const waits = lacking.map((i) => this.pump.acquire(leases[i] as Lease, amountsOf(request, i)));
        for (const w of waits) cancels.push(w.cancel);
        const outcomes: ScriptOutcome[] = await Promise.all(waits.map((w) => w.outcome));
        for (let k = 0; k < lacking.length; k++) {
          const i = lacking[k] as number;
          const lease = leases[i] as Lease;
          const entry = request.entries[i];
          if (entry === undefined) continue;
          const field = lease.lacking(entry.amounts);
          if (field === undefined) continue;
          if (outcomes[k] === 'timeout') throw this.unavailable(`Redis did not answer within ${this.settings.storeTimeoutMs} ms (storeTimeoutMs)`);
          if (outcomes[k] === 'failed') throw this.unavailable('Redis could not be asked for budget room');
          if (outcomes[k] === 'recovering') throw this.unavailable('Redis lost this budget counter, or may have (restart without persistence, FLUSHALL, eviction): no more room is leased until live slices have reported their usage again');
          if (outcomes[k] !== 'refused') continue;
          if (!entry.enforce) exceeded.set(i, field);
          else return this.refuse(request, leases, i, flags());
        }
      }
    } finally {
      for (const cancel of cancels) cancel();
    }
  }

  private refuse(request: ReserveRequest, leases: readonly Lease[], index: number, exceeded: readonly Flag[]): ReserveResult {
    const lease = leases[index] as Lease;
    const field = lease.lacking(amountsOf(request, index)) ?? 'tokens';
    return { admitted: false, rejected: { index, field }, exceeded, states: SliceAdmission.states(leases) };
  }
}
