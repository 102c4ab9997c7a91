import { QUOTA_FIELDS, ZERO_AMOUNT } from './amount.js';
import { QuotaBooks, type QuotaBook } from './book.js';
import { shareRoom } from './shares.js';
import type { HoldRequest, HoldResult, QuotaSpec, QuotaStore, QuotaUse, SettleRequest } from './store.js';

/**
 * The default quota store and the reference for every other: each quota's use in this
 * process's memory (calls in flight, a sliding window of charges, per team), exact and
 * synchronous, so admission awaits nothing while there is room.
 */
export class MemoryQuotaStore implements QuotaStore {
  private readonly books = new QuotaBooks();
  private readonly listeners = new Set<(quota: string) => void>();

  private book(name: string): QuotaBook {
    return this.books.get(name);
  }

  tryHold(r: HoldRequest): HoldResult {
    const book = this.book(r.quota.name);
    book.sweep(r.now);
    const { windowMs, limit, floor } = r.quota;
    const inUse = book.total.use(r.now, windowMs);
    const { name, entry } = book.team(r.team, r.weight, r.now, windowMs);
    entry.askedAt = r.now;
    // A re-sent hold changes nothing.
    if (book.isHeld(r.id)) return { held: true, retryAt: undefined, inUse };
    const own = entry.use.use(r.now, windowMs);
    for (const f of QUOTA_FIELDS) {
      if (r.need[f] === 0 || limit[f] === Infinity) continue;
      const room = shareRoom(limit[f], floor, { team: name, weight: entry.weight, use: own[f] }, book.others(name, f, r.now, windowMs));
      if (r.need[f] > room) return { held: false, retryAt: book.total.freedAt(f, r.need[f] - room, windowMs), inUse };
    }
    book.hold(r.id, name, entry, r.need, r.now);
    return { held: true, retryAt: undefined, inUse };
  }

  settle(r: SettleRequest): void {
    if (!this.book(r.quota.name).settle(r.id, r.team, r.charged, r.now)) return;
    for (const l of this.listeners) l(r.quota.name);
  }

  read(quota: QuotaSpec, now: number): QuotaUse {
    return this.books.find(quota.name)?.read(now, quota.windowMs) ?? { inUse: ZERO_AMOUNT, teams: [] };
  }

  onChange(listener: (quota: string) => void): void {
    this.listeners.add(listener);
  }
}
