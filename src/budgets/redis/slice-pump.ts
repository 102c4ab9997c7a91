import type { Units } from '../amounts.js';
import { redisDeadline } from './deadline.js';
import type { StoreHealth } from './health.js';
import type { Lease, LeaseOpKind } from './lease.js';
import type { RedisStoreSettings } from './options.js';
import type { ScriptRunner } from './redis-client.js';
import { LEASE } from './scripts.js';
import { leaseArgs, parseLeaseReply } from './wire.js';

/**
 * How a script ended, for a call waiting on it: `answered` (look again at the slice), `refused`
 * (Redis has no room for the least that was asked), `recovering` (Redis lost the counter and
 * leases no new room until live slices have reported again), `failed` (it failed: Redis unreachable),
 * `timeout` (no answer within `storeTimeoutMs` of Redis time; the script goes on, and its answer
 * still lands on the slice).
 */
export type ScriptOutcome = 'answered' | 'refused' | 'recovering' | 'failed' | 'timeout';

interface Waiter {
  readonly need: Units;
  /** Whether the script on its way was sized for this waiter. */
  included: boolean;
  readonly resolve: (outcome: ScriptOutcome) => void;
}

/**
 * Sends lease scripts, at most one per counter at a time: calls that need room while one is on
 * its way wait for its answer and are then served together by the next (one round trip for all
 * the calls that arrived meanwhile). Times each round trip and keeps the store's health.
 */
export class SlicePump {
  private seq = 0;
  private readonly waiting = new Map<Lease, Set<Waiter>>();
  private readonly scheduled = new Set<Lease>();
  private readonly running = new Map<Lease, Promise<ScriptOutcome>>();
  /** Leases whose script on its way has passed `storeTimeoutMs` unanswered (its node may be paused while others answer). */
  private readonly overdue = new Set<Lease>();

  constructor(
    private readonly run: ScriptRunner,
    private readonly settings: RedisStoreSettings,
    private readonly health: StoreHealth,
  ) {}

  /** Waits for the next answer about `lease`, asking Redis for at least `need` more room. */
  acquire(lease: Lease, need: Units): { readonly outcome: Promise<ScriptOutcome>; readonly cancel: () => void } {
    // Its script is overdue: waiting for it would wait on Redis without a deadline.
    if (this.overdue.has(lease)) return { outcome: Promise.resolve('timeout'), cancel: () => undefined };
    let set = this.waiting.get(lease);
    if (set === undefined) {
      set = new Set();
      this.waiting.set(lease, set);
    }
    const waiters = set;
    let waiter: Waiter | undefined;
    const outcome = new Promise<ScriptOutcome>((resolve) => {
      waiter = { need, included: false, resolve };
      waiters.add(waiter);
    });
    this.schedule(lease);
    return {
      outcome,
      cancel: () => {
        if (waiter !== undefined) waiters.delete(waiter);
      },
    };
  }

  /** Sends a script for `lease` unless one is on its way; resolves when it (or that one) ends. */
  send(lease: Lease, kind: LeaseOpKind): Promise<ScriptOutcome> {
    return this.running.get(lease) ?? this.start(lease, kind);
  }

  /** Calls that arrive in the same turn of the event loop share one script. */
  private schedule(lease: Lease): void {
    if (this.running.has(lease) || this.scheduled.has(lease)) return;
    this.scheduled.add(lease);
    setImmediate(() => {
      this.scheduled.delete(lease);
      if (!this.running.has(lease) && (this.waiting.get(lease)?.size ?? 0) > 0) void this.start(lease, 'lease');
    });
  }

  private start(lease: Lease, kind: LeaseOpKind): Promise<ScriptOutcome> {
    const waiters = [...(this.waiting.get(lease) ?? [])];
    for (const w of waiters) w.included = true;
    if (lease.ackedAt > 0 && performance.now() - lease.ackedAt > this.settings.idempotencyMs / 2) lease.rebase();
    // A renewal with calls waiting asks for their room too.
    const op = lease.nextOp(kind === 'flush' && waiters.length > 0 ? 'lease' : kind, ++this.seq, this.settings.sliceFraction, waiters.map((w) => w.need));
    const heldBefore = lease.acked.g;
    const t0 = performance.now();
    let answered = false;
    // The deadline runs from when the script is sent: calls queued behind it do not count
    // their own waiting (a busy event loop is not a slow Redis).
    const cancelDeadline = redisDeadline(this.settings.storeTimeoutMs, () => {
      if (answered) return;
      this.health.timedOut(this.settings.storeTimeoutMs, lease.keys.counter);
      this.overdue.add(lease);
      this.release(lease, 'timeout');
    });
    const keys = [lease.keys.counter, lease.keys.holders, lease.keys.windows, lease.keys.marker];
    const p = this.run(LEASE, keys, leaseArgs(lease, op, this.settings.sliceTtlMs, this.settings.idempotencyMs, this.settings.provisionalCapFraction))
      .then((reply): ScriptOutcome => {
        const { status, counter, lost, gone } = parseLeaseReply(reply);
        const now = performance.now();
        this.health.answered(op.kind, (now - t0) / 1000, lease.keys.counter);
        if (lost) this.health.lost(lease.budget);
        lease.settle(op, counter, status === 'refused', now, this.settings.sliceTtlMs, gone);
        this.health.count('commits_acknowledged', op.commits);
        const had = Object.values(heldBefore).some((n) => n > 0);
        const has = Object.values(counter.g).some((n) => n > 0);
        if (!had && has) this.health.count('slices_leased');
        if (had && !has) this.health.count('slices_returned');
        if (status === 'refused') this.health.count('refused');
        return status === 'refused' || status === 'recovering' ? status : 'answered';
      })
      // A failed script, or a reply that is not the script's (parsed before anything changes).
      .catch((error: unknown): ScriptOutcome => {
        lease.failed();
        this.health.failed(op.kind, (performance.now() - t0) / 1000, error, lease.keys.counter);
        return 'failed';
      });
    const done = p.then((outcome) => {
      answered = true;
      cancelDeadline();
      this.overdue.delete(lease);
      this.running.delete(lease);
      this.release(lease, outcome);
      return outcome;
    });
    this.running.set(lease, done);
    return done;
  }

  /** Tells the calls waiting on `lease` how its script ended. */
  private release(lease: Lease, outcome: ScriptOutcome): void {
    const set = this.waiting.get(lease);
    if (set === undefined) return;
    this.waiting.delete(lease);
    // Calls that came after the script was sized look again (and ask anew if they must).
    for (const w of set) w.resolve(w.included || outcome === 'failed' || outcome === 'timeout' || outcome === 'recovering' ? outcome : 'answered');
  }
}
