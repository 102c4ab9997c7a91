import { diag } from '@opentelemetry/api';
import { BudgetStoreUnavailableError } from '../../src/errors/budget-store-unavailable-error.js';
import { ConfigurationError } from '../../src/errors/configuration-error.js';
import { UNIT_FIELDS, type UnitField, type Units } from '../../src/budgets/amounts.js';
import type { BudgetStore, BudgetStoreStats, CommitRequest, CommitResult, CounterRef, CounterState, ReserveRequest, ReserveResult } from '../../src/budgets/store.js';
import { scriptRunner, type RedisClientLike, type ScriptRunner } from './redis-client.js';
import { COMMIT_SCRIPT, COMMIT_SHA, READ_SCRIPT, READ_SHA, RESERVE_SCRIPT, RESERVE_SHA } from './scripts.js';

/** Options of the per-call store (see the original's TSDoc in git history, commit 514681f). */
export interface RedisBudgetStoreOptions {
  readonly client: RedisClientLike;
  readonly keyPrefix?: string;
  readonly timeoutMs?: number;
  readonly breakerFailures?: number;
  readonly breakerCooldownMs?: number;
  readonly commitBufferSize?: number;
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
 * The per-call Redis budget store this library shipped before leased slices (commit 514681f),
 * kept only so `bench/fleet.ts` can measure it beside the new design: two scripts per call
 * (reserve, commit), a 250 ms timeout started before the command is sent, a breaker, a replay
 * buffer. Not exported; not maintained.
 */
export class PerCallRedisBudgetStore implements BudgetStore {
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

  stats(): BudgetStoreStats {
    return { events: { ...this.statistics }, pendingCommits: this.buffer.length, slices: 0, unavailable: Date.now() < this.openUntil };
  }

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
