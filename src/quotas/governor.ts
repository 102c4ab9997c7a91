import { QuotaExceededError } from '../errors/quota-exceeded-error.js';
import { QUOTA_FIELDS, ZERO_AMOUNT, type QuotaAmount } from './amount.js';
import { BelievedLimit } from './believed-limit.js';
import type { CompiledQuota } from './config.js';
import type { QuotaCounters } from './counters.js';
import type { HoldResult, QuotaSpec, QuotaStore } from './store.js';
import { isPromise } from '../promise-like.js';
import { quotaRefusal } from './refusal.js';
import { nextId, type Waiter } from './waiter.js';
import { quotaNow } from './clock.js';

/** An admitted call's hold on one quota, until it settles (once: a second settle changes nothing). */
export interface GovernorHold {
  readonly governor: QuotaGovernor;
  readonly team: string;
  readonly id: string;
  readonly need: QuotaAmount;
  settled?: boolean;
}

/** A hold, or why there was none (never thrown here: the caller decides). */
export type Acquired = GovernorHold | QuotaExceededError;

/**
 * One quota's pacing in this process: holds calls against the store, and with `'wait'` queues
 * the calls that do not fit — in arrival order per team, the oldest call that fits going first
 * (without shares: strictly in arrival order) — until room returns (a charge leaves the window,
 * a call settles) or `maxWaitMs` passes. Tracks the believed limit (see {@link BelievedLimit}).
 */
export class QuotaGovernor {
  readonly believed: BelievedLimit;
  private readonly waiters: Waiter<Acquired>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pumping = false;
  private again = false;
  private closed = false;

  constructor(
    readonly quota: CompiledQuota,
    private readonly store: QuotaStore,
    private readonly counters: QuotaCounters,
  ) {
    this.believed = new BelievedLimit(quota.limit, quota.windowMs);
  }

  spec(now: number): QuotaSpec {
    return { name: this.quota.name, limit: this.believed.limit(now), configured: this.quota.limit, windowMs: this.quota.windowMs, floor: this.quota.shares?.floor ?? 0 };
  }

  /** Calls waiting for room now. */
  get waiting(): number {
    return this.waiters.length;
  }

  refusal(team: string, need: QuotaAmount, inUse: number, retryAt: number | undefined, reason: QuotaExceededError['reason']): QuotaExceededError {
    return quotaRefusal(this.quota, this.believed, { team, need, inUse, retryAt, reason });
  }

  /**
   * Holds `need` for a call of `team` if the quota has room now; otherwise, with `wait`, queues it
   * (a promise), else answers why not. A need larger than the whole quota is refused at once.
   */
  acquire(team: string, weight: number, need: QuotaAmount, wait: boolean, signal?: AbortSignal): Acquired | Promise<Acquired> {
    if (QUOTA_FIELDS.some((f) => need[f] > this.quota.limit[f])) return this.refusal(team, need, 0, undefined, 'too-large');
    const id = nextId();
    // Arrival order: a team with calls waiting does not overtake them.
    if (wait && this.waiters.some((w) => w.team === team)) return this.enqueue(team, weight, need, id, undefined, signal);
    const now = quotaNow();
    const r = this.store.tryHold({ quota: this.spec(now), team, weight, id, need, now });
    const decide = (result: HoldResult): Acquired | Promise<Acquired> => {
      if (result.held) return { governor: this, team, id, need };
      if (wait) return this.enqueue(team, weight, need, id, result.retryAt, signal);
      return this.refusal(team, need, result.inUse.tokens, result.retryAt, 'limit');
    };
    return isPromise(r) ? r.then(decide) : decide(r);
  }

  private enqueue(team: string, weight: number, need: QuotaAmount, id: string, retryAt: number | undefined, signal: AbortSignal | undefined): Acquired | Promise<Acquired> {
    const maxWaitMs = this.quota.maxWaitMs;
    // After close() no wait begins: a wait would keep the process (and the call) going past shutdown.
    if (maxWaitMs <= 0 || this.closed) return this.refusal(team, need, this.inUse(), retryAt, 'wait-timeout');
    const aborted = (): Error => (signal?.reason instanceof Error ? signal.reason : Object.assign(new Error('The operation was aborted while waiting for quota room'), { name: 'AbortError' }));
    if (signal?.aborted === true) return Promise.reject(aborted());
    this.counters.avoided(this.quota.name);
    return new Promise<Acquired>((resolve, reject) => {
      const since = quotaNow();
      const w: Waiter<Acquired> = {
        team,
        weight,
        need,
        id,
        since,
        retryAt,
        done: false,
        cleanup: () => undefined,
        finish: (outcome) => {
          this.counters.waited(this.quota.name, quotaNow() - since, !(outcome instanceof QuotaExceededError));
          resolve(outcome);
        },
      };
      const onAbort = (): void => {
        if (w.done) return;
        this.leave(w);
        reject(aborted());
      };
      const deadline = setTimeout(() => {
        if (w.done) return;
        this.leave(w);
        w.finish(this.refusal(team, need, this.inUse(), w.retryAt, 'wait-timeout'));
      }, maxWaitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      w.cleanup = () => {
        clearTimeout(deadline);
        signal?.removeEventListener('abort', onAbort);
      };
      this.waiters.push(w);
      this.kick();
    });
  }

  private inUse(): number {
    const now = quotaNow();
    return this.store.read(this.spec(now), now).inUse.tokens;
  }

  /** Takes a waiter out of the queue (admitted, timed out or aborted); others may fit now. */
  private leave(w: Waiter<Acquired>): void {
    w.done = true;
    w.cleanup();
    const i = this.waiters.indexOf(w);
    if (i >= 0) this.waiters.splice(i, 1);
    if (this.waiters.length > 0) this.kick();
    else if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** Room may have returned: look at the queue (one pass at a time). */
  kick(): void {
    if (this.waiters.length === 0) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void this.pump().finally(() => {
      this.pumping = false;
    });
  }

  private async pump(): Promise<void> {
    do {
      this.again = false;
      await this.pass();
    } while (this.again && this.waiters.length > 0);
  }

  /** One pass over the queue in arrival order; a team whose oldest call does not fit waits behind it. */
  private async pass(): Promise<void> {
    const blocked = new Set<string>();
    let next = Number.POSITIVE_INFINITY;
    for (const w of [...this.waiters]) {
      if (w.done || blocked.has(w.team)) continue;
      const now = quotaNow();
      let r: HoldResult;
      try {
        r = await this.store.tryHold({ quota: this.spec(now), team: w.team, weight: w.weight, id: w.id, need: w.need, now });
      } catch {
        // The store failed: the call goes on without a quota check, like admission does.
        if (!w.done) {
          this.leave(w);
          w.finish({ governor: this, team: w.team, id: w.id, need: ZERO_AMOUNT });
        }
        continue;
      }
      if (w.done) {
        // It timed out or was aborted while the store answered: give back what was held.
        if (r.held) this.store.settle({ quota: this.spec(now), team: w.team, id: w.id, charged: ZERO_AMOUNT, now });
        continue;
      }
      if (r.held) {
        this.leave(w);
        w.finish({ governor: this, team: w.team, id: w.id, need: w.need });
        continue;
      }
      w.retryAt = r.retryAt;
      blocked.add(w.team);
      if (r.retryAt !== undefined) next = Math.min(next, r.retryAt);
    }
    this.arm(next);
  }

  /** Looks again when the window says room returns, and at least every tenth of a window (settles and grants also wake it). */
  private arm(next: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.waiters.length === 0) return;
    const poll = Math.min(1_000, Math.max(10, this.quota.windowMs / 10));
    const delay = Math.max(1, Math.min(poll, next - quotaNow()));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, delay);
    this.timer.unref();
  }

  /**
   * Shutdown: every call still waiting is refused now (`wait-timeout`, nothing sent; its budget
   * reservation goes back), and no wait begins after it. Holds of calls in flight stay until they settle.
   */
  close(): void {
    this.closed = true;
    for (const w of [...this.waiters]) {
      if (w.done) continue;
      this.leave(w);
      w.finish(this.refusal(w.team, w.need, this.inUse(), w.retryAt, 'wait-timeout'));
    }
  }

  /** Settles a hold: its charge enters the window now, the rest is released. */
  settle(hold: GovernorHold, chargedTokens: number, now: number): void {
    if (hold.settled === true) return;
    hold.settled = true;
    this.store.settle({ quota: this.spec(now), team: hold.team, id: hold.id, charged: { tokens: chargedTokens, requests: 0 }, now });
  }

  /** Charges a call that was never held here (provisioned spill served on demand). */
  charge(team: string, tokens: number, now: number): void {
    this.store.settle({ quota: this.spec(now), team, id: nextId(), charged: { tokens, requests: 1 }, now });
  }

  /** Bedrock throttled an on-demand call that matched this quota. */
  throttled(now: number): void {
    this.counters.seen(this.quota.name);
    this.believed.throttled(this.store.read(this.spec(now), now).inUse.tokens, now);
    this.store.throttled?.(this.quota.name, this.believed.fraction(now));
  }
}
