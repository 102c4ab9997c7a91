import { within } from '../../budgets/redis/closing.js';
import { quotaKeys } from '../../budgets/redis/keys.js';
import { scriptRunner, type ScriptRunner } from '../../budgets/redis/redis-client.js';
import { ConfigurationError } from '../../errors/configuration-error.js';
import { ZERO_AMOUNT, type QuotaAmount } from '../amount.js';
import { QuotaBooks, type QuotaBook } from '../book.js';
import { quotaNow } from '../clock.js';
import type { HoldRequest, HoldResult, QuotaSpec, QuotaStore, QuotaStoreStats, QuotaUse, SettleRequest } from '../store.js';
import { resolveRedisQuotaOptions, type RedisQuotaSettings, type RedisQuotaStoreOptions } from './options.js';
import { QuotaPump } from './quota-pump.js';
import { QuotaSlice } from './slice.js';

/** Rounds of "ask Redis, look again" for one call before it is answered "no room now". */
const ROUNDS = 2;

/**
 * Quota use shared by every process that points at one Redis (or Valkey / ElastiCache, Cluster
 * included), at a Redis cost far below one round trip per call: each process leases a *slice*
 * of each team's part of a quota — room it may have in use (held by calls in flight plus
 * charged in its own sliding window) — and admits calls against it locally, synchronously while
 * it has room. Redis keeps the slices' sum within the limit and the shares (one idempotent
 * script per quota); a process renews its slices every `renewIntervalMs`, keeping what it uses
 * and giving back the rest, and room comes back to it by itself as its charges leave the window.
 * A dead process's slice returns a window after it stopped renewing (its charges were still in
 * Bedrock's window until then). If Redis cannot be asked in time, the call goes on without a
 * quota check (Bedrock remains the real limit).
 *
 * @example
 * import { Redis } from 'ioredis';
 * const finops = bedrockFinOps({ quotas, quotaStore: new RedisQuotaStore({ client: new Redis(process.env.REDIS_URL) }) });
 */
export class RedisQuotaStore implements QuotaStore {
  private readonly settings: RedisQuotaSettings;
  private readonly run: ScriptRunner;
  private readonly books = new QuotaBooks();
  private readonly slices = new Map<string, QuotaSlice>();
  private readonly listeners = new Set<(quota: string) => void>();
  private readonly pump: QuotaPump;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(options: RedisQuotaStoreOptions) {
    if (typeof options !== 'object' || options === null) throw new ConfigurationError('RedisQuotaStore options', 'must be an object with a client');
    try {
      this.run = scriptRunner(options.client);
    } catch (error) {
      throw new ConfigurationError('RedisQuotaStore.client', error instanceof Error ? error.message : 'is not a Redis client');
    }
    this.settings = resolveRedisQuotaOptions(options);
    this.pump = new QuotaPump(options.client, this.run, this.settings, (slice) => this.useOf(slice, quotaNow()), (quota) => { this.changed(quota); });
    this.timer = setInterval(() => { this.renewAll(); }, this.settings.renewIntervalMs);
    this.timer.unref();
  }

  private book(name: string): QuotaBook {
    return this.books.get(name);
  }

  /** What this process has in use on `slice`'s team at `now` (held plus charged in its window). */
  private useOf(slice: QuotaSlice, now: number): QuotaAmount {
    return this.book(slice.quota).teams.get(slice.team)?.use.use(now, slice.spec.windowMs) ?? ZERO_AMOUNT;
  }

  private changed(quota: string): void {
    for (const l of this.listeners) l(quota);
  }

  private slice(spec: QuotaSpec, team: string, weight: number): QuotaSlice {
    const id = `${spec.name}\u0001${team}`;
    let s = this.slices.get(id);
    if (s === undefined) {
      s = new QuotaSlice(spec.name, team, quotaKeys(this.settings.prefix, spec.name), spec, weight);
      this.slices.set(id, s);
    }
    s.spec = spec;
    s.weight = weight;
    return s;
  }

  tryHold(r: HoldRequest): HoldResult | Promise<HoldResult> {
    if (this.closed) throw new Error('the Redis quota store is closed');
    const book = this.book(r.quota.name);
    book.sweep(r.now);
    const inUse = book.total.use(r.now, r.quota.windowMs);
    const { name, entry } = book.team(r.team, r.weight, r.now, r.quota.windowMs);
    entry.askedAt = r.now;
    if (book.isHeld(r.id)) return { held: true, retryAt: undefined, inUse };
    const slice = this.slice(r.quota, name, r.weight);
    const place = (asked = false): HoldResult | undefined => {
      const now = quotaNow();
      const use = entry.use.use(now, r.quota.windowMs);
      // Just answered by Redis, the share rule has been applied: the slice's room is the call's.
      if (asked ? slice.lacking(r.need, use, performance.now()) !== undefined : !slice.local(r.need, use, performance.now())) return undefined;
      book.hold(r.id, name, entry, r.need, now);
      slice.lastUsedAt = performance.now();
      return { held: true, retryAt: undefined, inUse };
    };
    return place() ?? this.ask(r, slice, place, inUse);
  }

  /** Asks Redis for the room the call lacks (sharing the script with calls beside it) and looks again. */
  private async ask(r: HoldRequest, slice: QuotaSlice, place: (asked?: boolean) => HoldResult | undefined, inUse: QuotaAmount): Promise<HoldResult> {
    const book = this.book(r.quota.name);
    for (let round = 0; round < ROUNDS; round++) {
      // Reclaiming, a call that fits still asks: Redis decides whether the room stays with this team.
      const lacking = slice.lacking(r.need, book.teams.get(slice.team)?.use.use(quotaNow(), r.quota.windowMs) ?? ZERO_AMOUNT, performance.now()) ?? (slice.reclaim ? r.need : undefined);
      if (lacking === undefined) break;
      // Its script is overdue (Redis paused, or its Cluster node), or its part of Redis is known down: waiting would wait without a deadline.
      if ((slice.busy && slice.overdue) || this.pump.failFast(slice)) throw this.pump.noAnswer();
      const refused = await new Promise<boolean>((resolve, reject) => {
        slice.waiters.push({ lacking, resolve, reject });
        this.pump.schedule(slice);
      });
      const held = refused ? undefined : place(true);
      if (held !== undefined) return held;
      if (refused) break;
    }
    return (slice.reclaim ? undefined : place()) ?? { held: false, retryAt: this.retryAt(r, slice), inUse };
  }

  /** When to look again: once this process's own charges have made room in its slice, or at the next renewal (room elsewhere in the fleet). */
  private retryAt(r: HoldRequest, slice: QuotaSlice): number {
    const now = quotaNow();
    const use = this.book(r.quota.name).teams.get(slice.team)?.use;
    const lacking = use === undefined ? undefined : slice.lacking(r.need, use.use(now, r.quota.windowMs), performance.now());
    return Math.min((lacking === undefined ? undefined : use?.freedAt('tokens', lacking.tokens, r.quota.windowMs)) ?? Infinity, now + this.settings.renewIntervalMs);
  }

  /** Renews every slice that holds room or use: keeps what it uses, gives back what it does not. */
  private renewAll(): void {
    this.pump.probe();
    const now = quotaNow();
    for (const [id, slice] of this.slices) {
      if (slice.busy) continue;
      const use = this.useOf(slice, now);
      const holds = slice.grant.tokens > 0 || slice.grant.requests > 0 || use.tokens > 0 || use.requests > 0;
      if (holds) void this.pump.send(slice, 'renew');
      else if (slice.answered) void this.pump.send(slice, 'final').then(() => this.slices.delete(id));
      else this.slices.delete(id);
    }
  }

  settle(r: SettleRequest): void {
    if (!this.book(r.quota.name).settle(r.id, r.team, r.charged, r.now)) return;
    this.changed(r.quota.name);
  }

  read(quota: QuotaSpec, now: number): QuotaUse {
    const use = this.books.find(quota.name)?.read(now, quota.windowMs) ?? { inUse: ZERO_AMOUNT, teams: [] };
    let leased: QuotaAmount | undefined;
    for (const s of this.slices.values()) if (s.quota === quota.name && s.leased !== undefined) leased = s.leased;
    return leased === undefined ? use : { ...use, leased };
  }

  onChange(listener: (quota: string) => void): void {
    this.listeners.add(listener);
  }

  /** Tells the fleet that Bedrock throttled a call of `quota` here: it believes `fraction` of the limit for a while. */
  throttled(quota: string, fraction: number): void {
    for (const s of this.slices.values()) if (s.quota === quota) s.shrink = Math.min(s.shrink ?? 1, fraction);
  }

  stats(): QuotaStoreStats {
    return { events: { ...this.pump.events }, unavailable: this.pump.unavailable };
  }

  /** Gives every slice back (keeping, for one window, the room its charges still take), within `closeTimeoutMs`. The client stays open. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      clearInterval(this.timer);
      const deadline = performance.now() + this.settings.closeTimeoutMs;
      const giveBack = async (): Promise<void> => {
        for (let round = 0; performance.now() < deadline; round++) {
          const open = [...this.slices.values()].filter((s) => s.answered);
          if (open.length === 0) return;
          if (round > 0) await new Promise((r) => setTimeout(r, 50));
          await Promise.all(open.map(async (s) => {
            while (s.busy && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
            if (s.busy) return;
            // Given back once Redis answered its own final script (another node's trouble is not its own).
            if (await this.pump.send(s, 'final')) this.slices.delete(`${s.quota}\u0001${s.team}`);
          }));
        }
      };
      // A script Redis never answers (paused) must not hold shutdown past closeTimeoutMs.
      await within(giveBack(), this.settings.closeTimeoutMs);
    })();
    return this.closing;
  }
}
