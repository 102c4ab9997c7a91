import { randomUUID } from 'node:crypto';
import { wireAmount } from '../../money.js';
import { QUOTA_FIELDS, ZERO_AMOUNT, type QuotaAmount } from '../amount.js';
import type { QuotaSpec } from '../store.js';
import type { RedisQuotaSettings } from './options.js';

/** Why a script is sent: room for waiting calls, a renewal (keeps what is used, gives back the rest), or the end of the slice. */
export type SliceOpKind = 'lease' | 'renew' | 'final';

/** Redis's answer about a slice (all integers). */
export interface SliceReply {
  readonly refused: boolean;
  readonly grant: QuotaAmount;
  /** Unused room the slice may keep at its next renewal (the share rule's room for the team). */
  readonly advice: QuotaAmount;
  /** The limit Redis believes (after throttles seen anywhere in the fleet). */
  readonly limit: QuotaAmount;
  /** Room granted to every slice of the quota. */
  readonly leased: QuotaAmount;
  /** The team holds more than its part while another active team lacks its own: admit nothing locally, ask. */
  readonly reclaim: boolean;
}

/** A call waiting for Redis to answer about the slice it lacks room in. */
export interface SliceWaiter {
  readonly lacking: QuotaAmount;
  readonly resolve: (refused: boolean) => void;
  readonly reject: (error: unknown) => void;
}

const INFINITE: QuotaAmount = { tokens: Infinity, requests: Infinity };
const num = (v: unknown): number => {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : Number.NaN;
  if (!Number.isFinite(n)) throw new TypeError('the quota script answered something that is not its reply');
  return n;
};

/** Parses the script's reply (checked before anything changes: a reply that is not the script's throws). */
export function parseSliceReply(reply: unknown): SliceReply {
  if (!Array.isArray(reply) || reply.length !== 10) throw new TypeError('the quota script answered something that is not its reply');
  const v = reply.map(num);
  const requestsLimit = v[6] ?? -1;
  return {
    refused: v[0] === 2,
    grant: { tokens: v[1] ?? 0, requests: v[2] ?? 0 },
    advice: { tokens: v[3] ?? 0, requests: v[4] ?? 0 },
    limit: { tokens: v[5] ?? 0, requests: requestsLimit < 0 ? Infinity : requestsLimit },
    leased: { tokens: v[7] ?? 0, requests: v[8] ?? 0 },
    reclaim: v[9] === 1,
  };
}

/**
 * This process's slice of one team's part of a quota: the room Redis granted it. The process
 * may have in use (held plus charged in its window) at most the grant, while the grant is
 * surely live in Redis (`validUntil`), and while a script is on its way at most what that script
 * keeps (`bound`): Redis can never have given that room to another process.
 */
export class QuotaSlice {
  holder = randomUUID();
  seq = 0;
  grant: QuotaAmount = ZERO_AMOUNT;
  advice: QuotaAmount = INFINITE;
  /** `performance.now()` until which the grant is surely live in Redis. */
  validUntil = 0;
  bound: QuotaAmount | undefined;
  leased: QuotaAmount | undefined;
  /** Set by Redis when the team must give borrowed room back: every admission asks Redis until it is cleared. */
  reclaim = false;
  busy = false;
  /** The script on its way has passed `storeTimeoutMs` unanswered: calls do not wait on it. */
  overdue = false;
  scheduled = false;
  answered = false;
  lastUsedAt = Number.NEGATIVE_INFINITY;
  /** A believed share of the limit to tell the fleet with the next script (a throttle was seen here). */
  shrink: number | undefined;
  readonly waiters: SliceWaiter[] = [];

  constructor(
    readonly quota: string,
    readonly team: string,
    readonly keys: readonly string[],
    public spec: QuotaSpec,
    public weight: number,
  ) {}

  private limited(f: 'tokens' | 'requests'): boolean {
    return this.spec.limit[f] !== Infinity;
  }

  /** What this process may have in use on the slice now (`performance.now()`). */
  cap(f: 'tokens' | 'requests', now: number): number {
    const grant = now < this.validUntil ? this.grant[f] : 0;
    return Math.min(grant, this.bound?.[f] ?? Infinity);
  }

  /** Whether a call may be admitted on the slice without asking Redis. */
  local(need: QuotaAmount, use: QuotaAmount, now: number): boolean {
    return !this.reclaim && this.lacking(need, use, now) === undefined;
  }

  /** How much of `need` does not fit beside `use`; `undefined` when it all fits. */
  lacking(need: QuotaAmount, use: QuotaAmount, now: number): QuotaAmount | undefined {
    let short: { tokens: number; requests: number } | undefined;
    for (const f of QUOTA_FIELDS) {
      if (!this.limited(f)) continue;
      const lack = need[f] - (this.cap(f, now) - use[f]);
      if (lack > 0) (short ??= { tokens: 0, requests: 0 })[f] = lack;
    }
    return short;
  }

  /** The script's arguments for `kind` (see `QUOTA_LEASE_SCRIPT`); sets the bound the slice keeps while it is on its way. */
  scriptArgs(kind: SliceOpKind, use: QuotaAmount, waiting: readonly QuotaAmount[], settings: RedisQuotaSettings): string[] {
    const fields = this.fieldArgs(kind, use, waiting, settings.sliceFraction, settings.idleReturnMs);
    const shrink = this.shrink;
    this.shrink = undefined;
    const spec = this.spec;
    return [
      this.holder,
      this.team,
      String(++this.seq),
      String(settings.sliceTtlMs),
      String(spec.windowMs),
      String(this.weight),
      String(spec.floor),
      // Redis applies the fleet's believed share of the configured limit (this process's throttles included).
      String(spec.configured.tokens),
      spec.configured.requests === Infinity ? '' : String(spec.configured.requests),
      ...fields,
      kind === 'final' ? '1' : '0',
      shrink === undefined ? '' : shrink.toFixed(6),
    ];
  }

  private fieldArgs(kind: SliceOpKind, use: QuotaAmount, waiting: readonly QuotaAmount[], fraction: number, idleReturnMs: number): string[] {
    const now = performance.now();
    const recent = now - this.lastUsedAt < idleReturnMs;
    const out: string[] = [];
    const bound = { tokens: 0, requests: 0 };
    for (const f of QUOTA_FIELDS) {
      if (!this.limited(f)) {
        out.push('0', '0', '0');
        continue;
      }
      const unused = Math.max(0, this.cap(f, now) - use[f]);
      const margin = Math.ceil(fraction * this.spec.limit[f]);
      let hold = use[f];
      let need = 0;
      let want = 0;
      if (kind === 'lease') {
        // Reclaiming, unused room goes back: only what the share rule grants now is kept.
        if (!this.reclaim) hold += unused;
        need = waiting.length === 0 ? 0 : Math.min(...waiting.map((w) => w[f]));
        want = waiting.reduce((s, w) => s + w[f], 0) + (need > 0 ? margin : 0);
      } else if (kind === 'renew' && recent) hold += Math.min(unused, this.advice[f], 2 * margin);
      bound[f] = hold;
      out.push(wireAmount(hold), wireAmount(need), wireAmount(want));
    }
    this.bound = { tokens: Math.min(this.bound?.tokens ?? Infinity, bound.tokens), requests: Math.min(this.bound?.requests ?? Infinity, bound.requests) };
    return out;
  }

  /** Applies Redis's answer to the script sent at `sentAt` (`performance.now()`). */
  settle(reply: SliceReply, sentAt: number, ttlMs: number): void {
    this.grant = reply.grant;
    this.advice = reply.advice;
    this.leased = reply.leased;
    this.reclaim = reply.reclaim;
    this.validUntil = sentAt + ttlMs * 0.9;
    this.bound = undefined;
    this.answered = true;
  }
}
