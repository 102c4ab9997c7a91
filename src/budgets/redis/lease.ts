import { randomUUID } from 'node:crypto';
import { MAX_SAFE_AMOUNT } from '../../money.js';
import { UNIT_FIELDS, ZERO_UNITS, type UnitField, type UnitLimits, type Units } from '../amounts.js';
import type { CounterKeys } from './keys.js';

/** What Redis answered about one counter and this process's slice of it (all integers). */
export interface CounterReply {
  /** Committed usage, fleet-wide. */
  readonly u: Units;
  /** Room leased to all processes, this one included. */
  readonly l: Units;
  /** Usage this slice's holder has reported (cumulative). */
  readonly r: Units;
  /** Room this slice holds beyond `r`. */
  readonly g: Units;
}

export const ZERO_REPLY: CounterReply = Object.freeze({ u: ZERO_UNITS, l: ZERO_UNITS, r: ZERO_UNITS, g: ZERO_UNITS });

/** Why a lease script is sent: room for waiting calls, a flush (and renewal), or giving the slice back. */
export type LeaseOpKind = 'lease' | 'flush' | 'return';

/** One lease script, as sent: the numbers the slice promised to respect while it is on its way. */
export interface LeaseOp {
  readonly kind: LeaseOpKind;
  readonly holder: string;
  readonly seq: number;
  /** Cumulative usage reported. */
  readonly x: Units;
  /** Room the slice keeps beyond `x`: calls in flight plus what this process may admit meanwhile. */
  readonly hold: Units;
  readonly need: Units;
  readonly want: Units;
  readonly final: boolean;
  /** Whether Redis has answered this holder before (so it must have a record of it). */
  readonly known: boolean;
  readonly fraction: number;
  /** Local commits this op delivers. */
  readonly commits: number;
  /** `performance.now()` when it was sent. */
  readonly sentAt: number;
}

type Mutable = { -readonly [K in UnitField]: number };
const mutable = (u: Units): Mutable => ({ tokens: u.tokens, inputTokens: u.inputTokens, outputTokens: u.outputTokens, nanoUsd: u.nanoUsd });

/**
 * This process's view of one budget counter and its slice of it. Calls are admitted against the
 * slice locally (`fits`, `hold`); usage is added locally at once (`commit`) and reported to Redis
 * cumulatively by the next script, so a re-sent script can never count it twice.
 *
 * Room while no script is on its way: `r + g − used − inflight` per limited field. While one is,
 * the slice may shrink to what that script keeps (`x + hold`), so admission stays within the
 * smaller of the two: nothing admitted meanwhile can be given back to other processes.
 */
export class Lease {
  /** Who this slice is in Redis: unique per process and per slice lifetime (a new one after the slice ends). */
  holder = randomUUID();
  limits: UnitLimits = {};
  /** Usage committed here since this holder began (cumulative). */
  used: Units = ZERO_UNITS;
  /** Held by calls admitted here and not yet committed. */
  inflight: Units = ZERO_UNITS;
  acked: CounterReply = ZERO_REPLY;
  /** The most committed usage (fleet-wide) Redis has answered for this counter: it never falls within a window, unless Redis lost it. */
  seen: Units = ZERO_UNITS;
  /** Usage Redis lost that nobody reports again, as last answered (room is counted from `u` plus it). */
  gone: Units = ZERO_UNITS;
  /** Whether Redis has answered a script of the current holder. */
  private holderKnown = false;
  /** `performance.now()` of the last answer from Redis (0: none yet). */
  ackedAt = 0;
  /**
   * Until when (`performance.now()`) the slice is surely live in Redis: its TTL counted from when
   * the last answered script was sent (Redis started it later). Past it, Redis may have given the
   * room to others, so nothing more is admitted on it until Redis answers again.
   */
  validUntil = 0;
  /** The script on its way, if any. */
  op: LeaseOp | undefined;
  /**
   * The most each limited field may reach (`x + hold` of every script sent since Redis last
   * answered): a script that failed may still have run and shrunk the slice.
   */
  bound: Units | undefined;
  lastUsedAt = 0;
  refusedAt = Number.NEGATIVE_INFINITY;
  /** Local commits Redis has not acknowledged yet. */
  pendingCommits = 0;
  /** What this process last reported as the counter's usage to a commit (threshold crossings). */
  lastSeenUsed: Units | undefined;

  constructor(
    readonly id: string,
    readonly budget: string,
    readonly windowEnd: number,
    readonly keys: CounterKeys,
  ) {}

  private limited(f: UnitField): boolean {
    return this.limits[f] !== undefined;
  }

  /**
   * The counter's committed usage as admission counts it: Redis's plus the lost usage nobody
   * reports again, or the most this process has seen if more (after Redis lost the counter).
   */
  counted(f: UnitField): number {
    return Math.max(this.acked.u[f] + this.gone[f], this.seen[f]);
  }

  /** Room left for new calls in one field (only limited fields matter), at `now` (`performance.now()`). */
  room(f: UnitField, now: number): number {
    const cap = this.acked.r[f] + (now < this.validUntil ? this.acked.g[f] : 0);
    return (this.bound === undefined ? cap : Math.min(cap, this.bound[f])) - this.used[f] - this.inflight[f];
  }

  /** The first limited field `amounts` does not fit in, if any. */
  lacking(amounts: Units, now = performance.now()): UnitField | undefined {
    for (const f of UNIT_FIELDS) if (this.limited(f) && amounts[f] > this.room(f, now)) return f;
    return undefined;
  }

  fits(amounts: Units, now = performance.now()): boolean {
    return this.lacking(amounts, now) === undefined;
  }

  reserve(amounts: Units, now: number): void {
    const n = mutable(this.inflight);
    for (const f of UNIT_FIELDS) n[f] += amounts[f];
    this.inflight = n;
    this.lastUsedAt = now;
  }

  release(amounts: Units): void {
    const n = mutable(this.inflight);
    for (const f of UNIT_FIELDS) n[f] = Math.max(0, n[f] - amounts[f]);
    this.inflight = n;
  }

  commit(actual: Units): void {
    const n = mutable(this.used);
    // Capped where the script's arithmetic is exact (no limit is larger): past it, usage is over every limit anyway.
    for (const f of UNIT_FIELDS) if (actual[f] > 0) n[f] = Math.min(MAX_SAFE_AMOUNT, n[f] + actual[f]);
    this.used = n;
    this.pendingCommits++;
  }

  /** Fleet-wide state as this process knows it: the usage admission counts (see `counted`) plus what it has not reported yet. */
  view(): { used: Units; reserved: Units } {
    const used = mutable(this.acked.u);
    const reserved = mutable(this.inflight);
    for (const f of UNIT_FIELDS) {
      used[f] = this.counted(f) + Math.max(0, this.used[f] - this.acked.r[f]);
      reserved[f] += Math.max(0, this.acked.l[f] - this.acked.g[f]);
    }
    return { used, reserved };
  }

  /** Whether usage waits to be reported. */
  dirty(): boolean {
    return UNIT_FIELDS.some((f) => this.used[f] > this.acked.r[f]);
  }

  /**
   * Whether the slice holds room in Redis (or should: calls in flight), or may: a script that
   * failed at the client (a command timeout, a dropped connection) may still have run and leased
   * room no answer told of, so the slice is given back rather than left to its TTL.
   */
  holds(): boolean {
    return this.bound !== undefined || UNIT_FIELDS.some((f) => this.acked.g[f] > 0 || this.inflight[f] > 0);
  }

  /**
   * Starts a new holder for the usage not yet acknowledged: Redis forgets a holder
   * `idempotencyMs` after its slice ended, so after an outage that long the old holder's
   * cumulative count could be applied again. Only the last unacknowledged report is at risk.
   */
  rebase(): void {
    const n = mutable(this.used);
    for (const f of UNIT_FIELDS) n[f] = Math.max(0, n[f] - this.acked.r[f]);
    this.used = n;
    this.holder = randomUUID();
    this.holderKnown = false;
    this.acked = { u: this.acked.u, l: this.acked.l, r: ZERO_UNITS, g: ZERO_UNITS };
    this.bound = undefined;
  }

  /** The script to send now (and what the slice may admit while it is on its way). */
  nextOp(kind: LeaseOpKind, seq: number, fraction: number, waiting: readonly Units[]): LeaseOp {
    const now = performance.now();
    const hold = mutable(this.inflight);
    const need = mutable(ZERO_UNITS);
    const want = mutable(ZERO_UNITS);
    for (const f of UNIT_FIELDS) {
      const limit = this.limits[f];
      if (limit === undefined) continue;
      const unused = Math.max(0, this.room(f, now));
      // A renewal may shrink the slice towards a fair share of the free room; a request for more keeps it all.
      const free = Math.max(0, limit - this.counted(f) - this.acked.l[f]) + unused;
      const keep = kind === 'return' ? 0 : kind === 'lease' ? unused : Math.min(unused, Math.floor(free * fraction));
      hold[f] += keep;
      // Need and want are room beyond what the slice keeps: the least one waiting call lacks, and what all of them lack.
      if (waiting.length > 0) {
        need[f] = Math.max(0, Math.min(...waiting.map((w) => w[f])) - keep);
        want[f] = Math.max(0, Math.min(limit, waiting.reduce((s, w) => s + w[f], 0)) - keep);
      }
    }
    const op: LeaseOp = { kind, holder: this.holder, seq, x: this.used, hold, need, want, final: kind === 'return', known: this.holderKnown, fraction: kind === 'return' ? 0 : fraction, commits: this.pendingCommits, sentAt: now };
    const bound = mutable(this.bound ?? { tokens: Infinity, inputTokens: Infinity, outputTokens: Infinity, nanoUsd: Infinity });
    for (const f of UNIT_FIELDS) bound[f] = Math.min(bound[f], op.x[f] + op.hold[f]);
    this.bound = bound;
    this.op = op;
    return op;
  }

  /** The script failed: it may or may not have run, so the bound it set stays until Redis answers. */
  failed(): void {
    this.op = undefined;
  }

  /** Applies Redis's answer to the script that was on its way. */
  settle(op: LeaseOp, reply: CounterReply, refused: boolean, now: number, ttlMs: number, gone: Units = ZERO_UNITS): void {
    this.acked = reply;
    this.gone = gone;
    this.ackedAt = now;
    if (op.holder === this.holder) this.holderKnown = true;
    const seen = mutable(this.seen);
    for (const f of UNIT_FIELDS) seen[f] = Math.max(seen[f], reply.u[f]);
    this.seen = seen;
    this.validUntil = op.sentAt + ttlMs * 0.9;
    this.op = undefined;
    this.bound = undefined;
    this.pendingCommits = Math.max(0, this.pendingCommits - op.commits);
    if (refused) this.refusedAt = now;
  }
}
