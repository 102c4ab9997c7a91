import { ZERO_AMOUNT, type QuotaAmount } from './amount.js';
import type { ShareView } from './shares.js';
import type { QuotaUse } from './store.js';
import { WindowUse } from './window-use.js';

/** One team of a quota: its use in this process, its weight, when it last asked for room. */
export interface TeamEntry {
  readonly use: WindowUse;
  weight: number;
  askedAt: number;
}

interface Held {
  readonly team: string;
  readonly need: QuotaAmount;
  readonly expiresAt: number;
}

/** A hold that never settles (a lost call) is released after this long. */
export const HOLD_LEASE_MS = 900_000;
/** Distinct teams kept per quota; more (hostile attribution) share one entry. */
export const MAX_TEAMS = 256;
export const OTHER_TEAM = '_OTHER';

/**
 * One quota's use in this process, per team: holds of calls in flight (each settled once) and a
 * sliding window of charges, plus the whole quota's. Shared by the stores.
 */
export class QuotaBook {
  readonly teams = new Map<string, TeamEntry>();
  readonly total = new WindowUse();
  private readonly holds = new Map<string, Held>();
  private nextSweep = 0;

  /**
   * The entry of `name`, created on first use. Past {@link MAX_TEAMS} entries, one idle in the
   * window (given `now` and `windowMs`) makes way for it; only when all are active does it share
   * `_OTHER` (else the 257th team ever seen shared one part with every later one for good).
   */
  team(name: string, weight: number, now?: number, windowMs?: number): { readonly name: string; readonly entry: TeamEntry } {
    let key = name;
    let entry = this.teams.get(key);
    if (entry === undefined && this.teams.size >= MAX_TEAMS && !(now !== undefined && windowMs !== undefined && this.evictIdle(now, windowMs))) {
      key = OTHER_TEAM;
      entry = this.teams.get(key);
    }
    if (entry === undefined) {
      entry = { use: new WindowUse(), weight, askedAt: Number.NEGATIVE_INFINITY };
      this.teams.set(key, entry);
    }
    entry.weight = weight;
    return { name: key, entry };
  }

  /** Drops one team with nothing in flight or in the window that has not asked within it; whether one went. */
  private evictIdle(now: number, windowMs: number): boolean {
    for (const [team, entry] of this.teams) {
      if (team === OTHER_TEAM || QuotaBook.active(entry, now, windowMs)) continue;
      this.teams.delete(team);
      return true;
    }
    return false;
  }

  /** Whether a team counts in the shares: it has use in the window or asked for room within it. */
  static active(entry: TeamEntry, now: number, windowMs: number): boolean {
    return entry.askedAt > now - windowMs || entry.use.busy(now, windowMs);
  }

  /** The other active teams' standing in `field`. */
  others(self: string, field: 'tokens' | 'requests', now: number, windowMs: number): ShareView[] {
    const out: ShareView[] = [];
    for (const [team, entry] of this.teams) if (team !== self && QuotaBook.active(entry, now, windowMs)) out.push({ team, weight: entry.weight, use: entry.use.use(now, windowMs)[field] });
    return out;
  }

  /** Whether `id` holds room now (a hold placed twice is placed once). */
  isHeld(id: string): boolean {
    return this.holds.has(id);
  }

  hold(id: string, team: string, entry: TeamEntry, need: QuotaAmount, now: number): void {
    entry.use.hold(need, now);
    this.total.hold(need, now);
    this.holds.set(id, { team, need, expiresAt: now + HOLD_LEASE_MS });
  }

  /**
   * Settles `id`: releases its hold and charges `charged`; an id not held (a call that spilled to
   * on-demand) is charged with nothing released. Callers settle each id once (the governor does).
   */
  settle(id: string, team: string, charged: QuotaAmount, now: number): boolean {
    const h = this.holds.get(id);
    this.holds.delete(id);
    const entry = this.teams.get(h?.team ?? team) ?? this.team(team, 1).entry;
    const held = h?.need ?? ZERO_AMOUNT;
    entry.use.settle(held, charged, now);
    this.total.settle(held, charged, now);
    return true;
  }

  /** Releases holds whose calls never settled. */
  sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + 1_000;
    for (const [id, h] of this.holds) if (h.expiresAt <= now) this.settle(id, h.team, ZERO_AMOUNT, now);
  }

  read(now: number, windowMs: number): QuotaUse {
    const teams = [...this.teams].map(([team, e]) => ({ team, inUse: e.use.use(now, windowMs) })).filter((t) => t.inUse.tokens > 0 || t.inUse.requests > 0);
    return { inUse: this.total.use(now, windowMs), teams };
  }
}

/** Each quota's book, made on first use. */
export class QuotaBooks {
  private readonly books = new Map<string, QuotaBook>();

  get(name: string): QuotaBook {
    let b = this.books.get(name);
    if (b === undefined) {
      b = new QuotaBook();
      this.books.set(name, b);
    }
    return b;
  }

  find(name: string): QuotaBook | undefined {
    return this.books.get(name);
  }
}
