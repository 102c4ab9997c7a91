import { diag } from '@opentelemetry/api';
import { UNIT_FIELDS } from '../amounts.js';
import type { StoreHealth } from './health.js';
import type { KeySpace } from './keys.js';
import type { Lease } from './lease.js';
import type { RedisStoreSettings } from './options.js';
import type { ScriptRunner } from './redis-client.js';
import type { ReservationBook } from './reservation-book.js';
import { DELETE_WINDOWS, EXPIRED_WINDOWS, POLICY, type Script } from './scripts.js';
import type { SlicePump } from './slice-pump.js';

/** Eviction policies that may take keys without a TTL: the store's counters have none. */
const UNSAFE_POLICIES = new Set(['allkeys-lru', 'allkeys-lfu', 'allkeys-random']);
const PRUNE_EVERY_MS = 15 * 60_000;
/** Counters the window-index script answers at most per script (EXPIRED_WINDOWS' LIMIT). */
const PRUNE_BATCH = 32;
/** Scripts one prune of one budget sends at most (32,000 counters); the next prune goes on. */
const MAX_PRUNE_BATCHES = 1_000;

/**
 * The store's background work, on one unref'd timer every `flushIntervalMs`: flushes usage and
 * renews live slices, probes the parts of Redis known unreachable, gives back slices idle for
 * `idleReturnMs` (or whose window ended) and then forgets them, releases reservations whose
 * lease ran out, deletes counters `retainMs` after their window ended, and checks once that
 * Redis's `maxmemory-policy` cannot evict counters.
 */
export class Maintenance {
  private timer: NodeJS.Timeout | undefined;
  private readonly pruneEveryMs: number;
  private nextPrune: number;
  private readonly budgets = new Set<string>();
  private policyChecked = false;

  constructor(
    private readonly run: ScriptRunner,
    private readonly keys: KeySpace,
    private readonly settings: RedisStoreSettings,
    private readonly leases: Map<string, Lease>,
    private readonly book: ReservationBook,
    private readonly pump: SlicePump,
    private readonly health: StoreHealth,
  ) {
    // Processes prune at random moments, so a fleet does not prune all at once.
    this.pruneEveryMs = Math.min(PRUNE_EVERY_MS, settings.retainMs);
    this.nextPrune = Date.now() + Math.random() * this.pruneEveryMs;
  }

  start(): void {
    this.timer ??= setInterval(() => {
      this.tick();
    }, this.settings.flushIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A counter of this budget was touched: its finished windows will be pruned; the first one checks the eviction policy. */
  touched(lease: Lease): void {
    this.budgets.add(lease.budget);
    if (this.policyChecked) return;
    this.policyChecked = true;
    void this.checkPolicy(lease.keys.counter);
  }

  private quiet(lease: Lease): boolean {
    return UNIT_FIELDS.every((f) => lease.inflight[f] === 0);
  }

  /** Nobody used the slice for `idleReturnMs` (or its window is over) and no call holds room on it. */
  private ending(lease: Lease): boolean {
    return (performance.now() - lease.lastUsedAt > this.settings.idleReturnMs || lease.windowEnd <= Date.now()) && this.quiet(lease);
  }

  tick(): void {
    const now = performance.now();
    const wall = Date.now();
    this.book.sweep(wall);
    // An idle process learns that an outage ended, too (stats, the unavailable gauge).
    if (this.health.unavailable) this.health.probe();
    for (const lease of this.leases.values()) {
      if (lease.op !== undefined) continue;
      if (this.ending(lease)) {
        if (lease.holds() || lease.dirty()) void this.pump.send(lease, 'return').then(() => { this.forget(lease); });
        else this.forget(lease);
      } else if (lease.dirty() || (lease.holds() && now - lease.ackedAt > this.settings.sliceTtlMs / 3)) void this.pump.send(lease, 'flush');
    }
    if (wall >= this.nextPrune) {
      this.nextPrune = wall + this.pruneEveryMs;
      for (const budget of this.budgets) void this.prune(budget, wall - this.settings.retainMs);
    }
  }

  /** Drops a slice that holds nothing and reports nothing (a later call starts a new one). */
  private forget(lease: Lease): void {
    if (lease.op === undefined && !lease.holds() && !lease.dirty() && this.ending(lease) && this.leases.get(lease.id) === lease) this.leases.delete(lease.id);
  }

  /** Runs a housekeeping script, counted as a round trip (`operation`) like the budget scripts. */
  private async timed(operation: string, script: Script, keys: string[], args: string[]): Promise<unknown> {
    const t0 = performance.now();
    try {
      const reply = await this.run(script, keys, args);
      this.health.housekeeping(operation, (performance.now() - t0) / 1000, true);
      return reply;
    } catch (error) {
      this.health.housekeeping(operation, (performance.now() - t0) / 1000, false);
      throw error;
    }
  }

  /** Deletes every counter of `budget` whose window ended before `cutoff`, a batch per script (a per-value budget ends many per window). */
  private async prune(budget: string, cutoff: number): Promise<void> {
    try {
      const windows = this.keys.windows(budget);
      for (let batch = 0; batch < MAX_PRUNE_BATCHES; batch++) {
        const ids = await this.timed('prune', EXPIRED_WINDOWS, [windows], [String(cutoff)]);
        if (!Array.isArray(ids) || ids.length === 0) return;
        const names = ids.filter((id): id is string => typeof id === 'string');
        const keys = [windows];
        for (const id of names) {
          const k = this.keys.of(budget, id);
          keys.push(k.counter, k.holders);
        }
        if (names.length === 0 || Number(await this.timed('prune', DELETE_WINDOWS, keys, names)) < PRUNE_BATCH) return;
      }
    } catch {
      // Pruning is housekeeping: the next round tries again.
    }
  }

  private async checkPolicy(routingKey: string): Promise<void> {
    try {
      const policy = await this.timed('policy', POLICY, [routingKey], []);
      if (typeof policy === 'string' && UNSAFE_POLICIES.has(policy))
        diag.warn(
          `bedrock-finops: Redis maxmemory-policy is ${policy}: under memory pressure Redis may evict budget counters (budgets would forget usage). Budget keys carry no TTL, so 'noeviction' or any volatile-* policy keeps them.`,
        );
    } catch {
      // INFO may be disabled (renamed commands); the check is advisory.
    }
  }
}
