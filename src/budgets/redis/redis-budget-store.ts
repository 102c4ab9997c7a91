import { diag } from '@opentelemetry/api';
import { BudgetStoreUnavailableError } from '../../errors/budget-store-unavailable-error.js';
import { ConfigurationError } from '../../errors/configuration-error.js';
import { UNIT_FIELDS, type UnitField, type Units } from '../amounts.js';
import type { BudgetStore, CommitRequest, CommitResult, CounterRef, CounterState, ReserveRequest, ReserveResult } from '../store.js';
import { scriptRunner, type RedisClientLike, type ScriptRunner } from './redis-client.js';
import { COMMIT_SCRIPT, COMMIT_SHA, READ_SCRIPT, READ_SHA, RESERVE_SCRIPT, RESERVE_SHA } from './scripts.js';

/** Options of {@link RedisBudgetStore}. */
export interface RedisBudgetStoreOptions {
  /** Your ioredis or node-redis (v4+) client, connected. The store never closes it. */
  readonly client: RedisClientLike;
  /**
   * Prefix of every key. It must contain a `{hash tag}` so all budget keys share one Redis
   * Cluster slot (a call's reservation touches several counters atomically).
   * @defaultValue `'bedrock-finops:{budgets}:'`
   */
  readonly keyPrefix?: string;
  /**
   * How long a store operation may take before it counts as failed (the call then follows
   * `onStoreError`), in ms. Keeps a dead Redis from adding seconds to every call.
   * @defaultValue `250`
   */
  readonly timeoutMs?: number;
  /**
   * After this many consecutive failures the store stops asking Redis for `breakerCooldownMs`
   * and fails fast.
   * @defaultValue `3`
   */
  readonly breakerFailures?: number;
  /** @defaultValue `5000` */
  readonly breakerCooldownMs?: number;
  /**
   * Commits that could not be written are kept (oldest first) and replayed when Redis answers
   * again; past this many, the oldest are dropped and counted.
   * @defaultValue `10000`
   */
  readonly commitBufferSize?: number;
  /** How often buffered commits are retried, in ms. @defaultValue `1000` */
  readonly replayIntervalMs?: number;
}

/** What the store has been through, for metrics. */
export interface RedisBudgetStoreStats {
  errors: number;
  timeouts: number;
  fastFailures: number;
  buffered: number;
  replayed: number;
  dropped: number;
}


const FIELDS = 8;

function parseAmounts(values: readonly unknown[], at: number): Units {
  return {
    tokens: Number(values[at] ?? 0),
    inputTokens: Number(values[at + 1] ?? 0),
    outputTokens: Number(values[at + 2] ?? 0),
    nanoUsd: Number(values[at + 3] ?? 0),
  };
}

function asArray(value: unknown): readonly unknown[] {
  if (!Array.isArray(value)) throw new TypeError('unexpected reply from Redis');
  return value;
}

const num = (n: number): string => (Number.isFinite(n) ? String(n) : 'inf');

/**
 * Budget counters in Redis (or Valkey / ElastiCache, Cluster included), shared by every process
 * that points at it. Reserve, commit and read are single Lua scripts (atomic); commits are
 * idempotent by reservation id; leases expire server-side; window keys expire a day after their
 * window. A short timeout and a breaker keep a dead Redis from slowing calls, and commits that
 * could not be written are buffered and replayed.
 *
 * @example
 * import Redis from 'ioredis';
 * const finops = bedrockFinOps({ budgets, budgetStore: new RedisBudgetStore({ client: new Redis(process.env.REDIS_URL) }) });
 */
export class RedisBudgetStore implements BudgetStore {
  private readonly run: ScriptRunner;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly breakerFailures: number;
  private readonly breakerCooldownMs: number;
  private readonly bufferSize: number;
  private readonly replayIntervalMs: number;
  private failures = 0;
  private openUntil = 0;
  private readonly buffer: CommitRequest[] = [];
  private replayTimer: NodeJS.Timeout | undefined;
  private replaying = false;
  private closed = false;
  readonly statistics: RedisBudgetStoreStats = { errors: 0, timeouts: 0, fastFailures: 0, buffered: 0, replayed: 0, dropped: 0 };

  constructor(options: RedisBudgetStoreOptions) {
    if (typeof options !== 'object' || options === null) throw new ConfigurationError('RedisBudgetStore options', 'must be an object with a client');
    try {
      this.run = scriptRunner(options.client);
    } catch (error) {
      throw new ConfigurationError('RedisBudgetStore.client', error instanceof Error ? error.message : 'is not a Redis client');
    }
    this.prefix = options.keyPrefix ?? 'bedrock-finops:{budgets}:';
    if (!/\{[^{}]+\}/.test(this.prefix)) throw new ConfigurationError('RedisBudgetStore.keyPrefix', 'must contain a {hash tag} so all budget keys share one Cluster slot');
    this.timeoutMs = positive(options.timeoutMs, 250, 'RedisBudgetStore.timeoutMs');
    this.breakerFailures = positive(options.breakerFailures, 3, 'RedisBudgetStore.breakerFailures');
    this.breakerCooldownMs = positive(options.breakerCooldownMs, 5000, 'RedisBudgetStore.breakerCooldownMs');
    this.bufferSize = positive(options.commitBufferSize, 10_000, 'RedisBudgetStore.commitBufferSize');
    this.replayIntervalMs = positive(options.replayIntervalMs, 1000, 'RedisBudgetStore.replayIntervalMs');
  }

  private keys(key: string): [string, string, string] {
    return [`${this.prefix}c:${key}`, `${this.prefix}z:${key}`, `${this.prefix}a:${key}`];
  }

  /** Runs a script under the timeout and the breaker. */
  private async call(sha: string, script: string, keys: string[], args: string[]): Promise<readonly unknown[]> {
    if (this.closed) throw new BudgetStoreUnavailableError('the Redis budget store is closed');
    if (Date.now() < this.openUntil) {
      this.statistics.fastFailures++;
      throw new BudgetStoreUnavailableError('Redis budget store unavailable (breaker open after repeated failures)');
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const reply = await Promise.race([
        this.run(sha, script, keys, args),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            this.statistics.timeouts++;
            reject(new BudgetStoreUnavailableError(`Redis did not answer within ${this.timeoutMs} ms`));
          }, this.timeoutMs);
        }),
      ]);
      this.failures = 0;
      return asArray(reply);
    } catch (error) {
      this.statistics.errors++;
      if (++this.failures >= this.breakerFailures) this.openUntil = Date.now() + this.breakerCooldownMs;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async reserve(request: ReserveRequest): Promise<ReserveResult> {
    const keys: string[] = [];
    const args: string[] = [request.id, String(request.now), String(request.now + request.leaseMs), String(request.entries.length)];
    for (const e of request.entries) {
      keys.push(...this.keys(e.key));
      args.push(e.enforce ? '1' : '0', num(e.windowEnd));
      for (const f of UNIT_FIELDS) args.push(e.limits[f] === undefined ? '' : String(e.limits[f]));
      for (const f of UNIT_FIELDS) args.push(String(e.amounts[f]));
    }
    const reply = await this.call(RESERVE_SHA, RESERVE_SCRIPT, keys, args);
    const rejectedIndex = Number(reply[0]);
    const rejectedLimit = Number(reply[1]);
    const exceeded = (typeof reply[2] === 'string' ? reply[2] : '')
      .split(',')
      .filter((s) => s.length > 0)
      .map((s) => {
        const [e, k] = s.split(':');
        return { index: Number(e) - 1, field: UNIT_FIELDS[Number(k) - 1] ?? 'tokens' };
      });
    const states: CounterState[] = request.entries.map((_, i) => ({ used: parseAmounts(reply, 3 + i * FIELDS), reserved: parseAmounts(reply, 3 + i * FIELDS + 4) }));
    const field: UnitField = UNIT_FIELDS[rejectedLimit - 1] ?? 'tokens';
    return {
      admitted: rejectedIndex === 0,
      rejected: rejectedIndex === 0 ? undefined : { index: rejectedIndex - 1, field },
      exceeded,
      states,
    };
  }

  private async write(request: CommitRequest): Promise<CommitResult> {
    const keys = [`${this.prefix}done:${request.id}`];
    const args = [request.id, String(request.entries.length)];
    for (const e of request.entries) {
      keys.push(...this.keys(e.key));
      args.push(num(e.windowEnd));
      for (const f of UNIT_FIELDS) args.push(String(e.actual[f]));
    }
    const reply = await this.call(COMMIT_SHA, COMMIT_SCRIPT, keys, args);
    if (String(reply[0]) !== '1') return { applied: false, before: [], after: [] };
    return {
      applied: true,
      before: request.entries.map((_, i) => parseAmounts(reply, 1 + i * FIELDS)),
      after: request.entries.map((_, i) => parseAmounts(reply, 1 + i * FIELDS + 4)),
    };
  }

  /** Commits usage; if Redis is unavailable the commit is buffered and replayed later (resolves as not applied). */
  async commit(request: CommitRequest): Promise<CommitResult> {
    try {
      return await this.write(request);
    } catch {
      this.bufferCommit(request);
      return { applied: false, before: [], after: [] };
    }
  }

  private bufferCommit(request: CommitRequest): void {
    if (this.closed) return;
    this.buffer.push(request);
    this.statistics.buffered++;
    if (this.buffer.length > this.bufferSize) {
      this.buffer.shift();
      this.statistics.dropped++;
      if (this.statistics.dropped === 1)
        diag.error(`bedrock-finops: the Redis budget store's commit buffer is full (${this.bufferSize}); the oldest unwritten usage is being dropped, so budgets will undercount`);
    }
    this.scheduleReplay();
  }

  private scheduleReplay(): void {
    if (this.replayTimer !== undefined || this.closed) return;
    this.replayTimer = setTimeout(() => {
      this.replayTimer = undefined;
      void this.replay();
    }, this.replayIntervalMs);
    this.replayTimer.unref();
  }

  /** Writes buffered commits, oldest first, until one fails. Resolves when the buffer is empty or Redis failed again. */
  async replay(): Promise<void> {
    if (this.replaying) return;
    this.replaying = true;
    try {
      while (this.buffer.length > 0 && !this.closed) {
        const next = this.buffer[0];
        if (next === undefined) break;
        try {
          await this.write(next);
        } catch {
          break;
        }
        this.buffer.shift();
        this.statistics.replayed++;
      }
    } finally {
      this.replaying = false;
      if (this.buffer.length > 0) this.scheduleReplay();
    }
  }

  /** Commits waiting to be replayed. */
  get pendingCommits(): number {
    return this.buffer.length;
  }

  async read(counters: readonly CounterRef[], now: number): Promise<readonly CounterState[]> {
    if (counters.length === 0) return [];
    const keys = counters.map((c) => c.key);
    const redisKeys: string[] = [];
    for (const k of keys) redisKeys.push(...this.keys(k));
    const reply = await this.call(READ_SHA, READ_SCRIPT, redisKeys, [String(now)]);
    return keys.map((_, i) => ({ used: parseAmounts(reply, i * FIELDS), reserved: parseAmounts(reply, i * FIELDS + 4) }));
  }

  stats(): Readonly<Record<string, number>> {
    return { ...this.statistics, pending: this.buffer.length };
  }

  /** Tries once more to write buffered commits, then stops the replay timer. Leaves the client open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.openUntil = 0;
    await this.replay();
    this.closed = true;
    clearTimeout(this.replayTimer);
    this.replayTimer = undefined;
  }
}

function positive(value: unknown, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new ConfigurationError(field, 'must be a positive number');
  return value;
}
