import { diag } from '@opentelemetry/api';
import { BudgetStoreUnavailableError } from '../../errors/budget-store-unavailable-error.js';
import { ConfigurationError } from '../../errors/configuration-error.js';
import type { Units } from '../amounts.js';
import type {
  BudgetStore,
  BudgetStoreCloseReport,
  BudgetStoreObserver,
  BudgetStoreStats,
  CommitEntry,
  CommitRequest,
  CommitResult,
  CounterRef,
  CounterState,
  ReservationEntry,
  ReserveRequest,
  ReserveResult,
} from '../store.js';
import { closeLeases } from './closing.js';
import { CounterReader } from './counter-reader.js';
import { StoreHealth } from './health.js';
import { KeySpace } from './keys.js';
import { Lease } from './lease.js';
import { Maintenance } from './maintenance.js';
import { resolveRedisStoreOptions, type RedisBudgetStoreOptions, type RedisStoreSettings } from './options.js';
import { scriptRunner, type ScriptRunner } from './redis-client.js';
import { ReservationBook } from './reservation-book.js';
import { SliceAdmission } from './slice-admission.js';
import { SlicePump } from './slice-pump.js';

const NOT_APPLIED: CommitResult = Object.freeze({ applied: false, before: [], after: [] });

/**
 * Budget counters in Redis (or Valkey / ElastiCache, Cluster included), shared by every process
 * that points at it, at a Redis cost far below one round trip per call.
 *
 * Each process leases *slices* of a budget's free room in one atomic, idempotent script and
 * admits calls against them locally: synchronously while a slice has room. Slices are generous
 * far from the limit (`sliceFraction` of the free room) and shrink to what waiting calls need
 * near it; they expire (`sliceTtlMs`) if their process dies, and are given back when idle or on
 * `close()`. Usage is applied to this process's view at once (the next call sees it) and written
 * to Redis in batches (`flushIntervalMs`), as cumulative counts, so a re-sent script never
 * counts twice. While Redis is away, calls go on within the slices held; once those run out,
 * `onStoreError` applies. See the README ("Budgets shared across processes") for the bounds.
 *
 * @example
 * import { Redis } from 'ioredis';
 * const finops = bedrockFinOps({ budgets, budgetStore: new RedisBudgetStore({ client: new Redis(process.env.REDIS_URL) }) });
 */
export class RedisBudgetStore implements BudgetStore {
  private readonly settings: RedisStoreSettings;
  private readonly run: ScriptRunner;
  private readonly keys: KeySpace;
  private readonly health: StoreHealth;
  private readonly book = new ReservationBook();
  private readonly leases = new Map<string, Lease>();
  private readonly pump: SlicePump;
  private readonly admission: SliceAdmission;
  private readonly reader: CounterReader;
  private readonly maintenance: Maintenance;
  private closing: Promise<BudgetStoreCloseReport> | undefined;
  private closed = false;
  /** The close finished: later commits can no longer be delivered. */
  private finished = false;

  constructor(options: RedisBudgetStoreOptions) {
    if (typeof options !== 'object' || options === null) throw new ConfigurationError('RedisBudgetStore options', 'must be an object with a client');
    try {
      this.run = scriptRunner(options.client);
    } catch (error) {
      throw new ConfigurationError('RedisBudgetStore.client', error instanceof Error ? error.message : 'is not a Redis client');
    }
    this.settings = resolveRedisStoreOptions(options);
    this.health = new StoreHealth(options.client, this.run, this.settings.flushIntervalMs / 2);
    this.keys = new KeySpace(this.settings.prefix);
    this.pump = new SlicePump(this.run, this.settings, this.health);
    this.admission = new SliceAdmission(this.book, this.pump, this.health, this.settings, () => this.closed);
    this.reader = new CounterReader(this.run, this.keys, this.settings, this.health, (key) => this.leases.get(key));
    this.maintenance = new Maintenance(this.run, this.keys, this.settings, this.leases, this.book, this.pump, this.health);
    this.maintenance.start();
  }

  private lease(entry: ReservationEntry | CommitEntry): Lease {
    let lease = this.leases.get(entry.key);
    if (lease === undefined) {
      lease = new Lease(entry.key, entry.budget, entry.windowEnd, this.keys.of(entry.budget, entry.key));
      this.leases.set(entry.key, lease);
      this.maintenance.touched(lease);
    }
    lease.lastUsedAt = performance.now();
    return lease;
  }

  reserve(request: ReserveRequest): ReserveResult | Promise<ReserveResult> {
    if (this.closed) throw new BudgetStoreUnavailableError('the Redis budget store is closed');
    this.book.sweep(request.now);
    const leases = request.entries.map((entry) => {
      const lease = this.lease(entry);
      lease.limits = entry.limits;
      return lease;
    });
    // A re-sent reserve changes nothing.
    if (this.book.has(request.id)) return { admitted: true, rejected: undefined, exceeded: [], states: SliceAdmission.states(leases) };
    return this.admission.tryLocal(request, leases) ?? this.admission.remote(request, leases);
  }

  /**
   * Applies the usage to this process's view at once (a call's commit is visible to the next call
   * before `send()` resolves) and to Redis with the next flush. Synchronous.
   */
  commit(request: CommitRequest): CommitResult {
    if (this.book.isCommitted(request.id)) return NOT_APPLIED;
    this.book.commit(request.id);
    const before: Units[] = [];
    const after: Units[] = [];
    for (const entry of request.entries) {
      const lease = this.lease(entry);
      // From what this process last saw, so a threshold crossed by other processes' usage is seen once here.
      before.push(lease.lastSeenUsed ?? lease.view().used);
      lease.commit(entry.actual);
      const now = lease.view().used;
      lease.lastSeenUsed = now;
      after.push(now);
    }
    this.health.count('commits_buffered');
    if (this.finished) this.health.count('dropped');
    if (this.closed) this.lateCommit();
    return { applied: true, before, after };
  }

  private warnedLate = false;

  /** A call settled after `close()`: its usage is written only if the close is still delivering. */
  private lateCommit(): void {
    if (this.warnedLate) return;
    this.warnedLate = true;
    diag.warn('bedrock-finops: a call settled after the Redis budget store was closed; its usage may not reach Redis (shut down after calls finish)');
  }

  async read(counters: readonly CounterRef[], now: number): Promise<readonly CounterState[]> {
    this.book.sweep(now);
    if (counters.length === 0) return [];
    return this.reader.read(counters);
  }

  stats(): BudgetStoreStats {
    let pendingCommits = 0;
    let slices = 0;
    for (const lease of this.leases.values()) {
      pendingCommits += lease.pendingCommits;
      if (Object.values(lease.acked.g).some((n) => n > 0)) slices++;
    }
    return { events: { ...this.health.events }, pendingCommits, slices, unavailable: this.health.unavailable };
  }

  observe(observer: BudgetStoreObserver): void {
    this.health.observe(observer);
  }

  /**
   * Reports all usage to Redis and gives back every slice, retrying until Redis acknowledges or
   * `closeTimeoutMs` passes; resolves with what could not be delivered (also counted as
   * `dropped` and logged once). Idempotent: later calls answer the same report. The client stays open.
   */
  close(): Promise<BudgetStoreCloseReport> {
    this.closing ??= (async () => {
      this.closed = true;
      this.maintenance.stop();
      const report = await closeLeases(this.leases.values(), this.pump, this.health, this.settings.closeTimeoutMs);
      this.finished = true;
      return report;
    })();
    return this.closing;
  }
}
