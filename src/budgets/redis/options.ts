import { ConfigurationError } from '../../errors/configuration-error.js';
import { positiveInteger, timerMs } from '../../validate.js';
import { keyPrefixProblem } from './keys.js';
import { clientKeyPrefix, clientModeProblem, type RedisClientLike } from './redis-client.js';

/** Options of `RedisBudgetStore`. Durations are in ms. */
export interface RedisBudgetStoreOptions {
  /** Your ioredis or node-redis (v4+) client (or cluster), connected. The store never closes it. */
  readonly client: RedisClientLike;
  /**
   * Prefix of every key. Each budget's keys get their own `{hash tag}` (the budget's name), so one
   * budget's keys share a Redis Cluster slot and budgets spread over the cluster; a prefix holding
   * `{` or `}` would change that, and is a `ConfigurationError`.
   * @defaultValue `'bedrock-finops:'`
   */
  readonly keyPrefix?: string;
  /**
   * The share of a budget's free room one slice takes when it is leased or renewed, far from
   * the limit; near it a slice shrinks to what the waiting calls need. Smaller: less room held by
   * each process, more round trips.
   * @defaultValue `0.0625` (1/16)
   */
  readonly sliceFraction?: number;
  /**
   * How long a slice lives in Redis without being renewed: a crashed process's room returns to
   * the budget after this. Live processes renew every third of it.
   * @defaultValue `30000`
   */
  readonly sliceTtlMs?: number;
  /**
   * How often usage committed in this process is written to Redis (one script per counter).
   * @defaultValue `500`
   */
  readonly flushIntervalMs?: number;
  /**
   * A slice nobody used for this long is given back, so idle processes hold no room.
   * @defaultValue `10000`
   */
  readonly idleReturnMs?: number;
  /**
   * How long a call that needs a new slice waits for Redis before `onStoreError` applies. Time
   * the event loop was blocked does not count: only Redis's own round trip does.
   * @defaultValue `500`
   */
  readonly storeTimeoutMs?: number;
  /**
   * How long `close()` (and `finops.shutdown()`) keeps trying to deliver usage and give back slices.
   * @defaultValue `5000`
   */
  readonly closeTimeoutMs?: number;
  /**
   * How long Redis remembers a finished slice (its last sequence number and reported usage), so
   * a re-sent script is recognised. Usage is exact across outages up to this long.
   * @defaultValue `3600000` (1 hour)
   */
  readonly idempotencyMs?: number;
  /**
   * How long a counter stays in Redis after its window ends (late commits still land on it),
   * before the store deletes it. `total` counters are never deleted.
   * @defaultValue `86400000` (1 day)
   */
  readonly retainMs?: number;
  /**
   * The share of each limit a provisional counter (one Redis may just have lost: its budget's
   * marker was missing or young, e.g. after a `FLUSHALL` or a restart without persistence, or on
   * a budget's first use) may hold in all, committed plus leased, until its provisional period
   * (half of `sliceTtlMs`) ends; past it, calls needing room follow `onStoreError`. It bounds
   * what processes new to a lost counter admit before live ones write their usage back. Unset:
   * no cap (a budget's first use in a fresh Redis is never refused for it).
   * @defaultValue `undefined`
   */
  readonly provisionalCapFraction?: number;
}

export interface RedisStoreSettings {
  readonly prefix: string;
  readonly sliceFraction: number;
  readonly sliceTtlMs: number;
  readonly flushIntervalMs: number;
  readonly idleReturnMs: number;
  readonly storeTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly idempotencyMs: number;
  readonly retainMs: number;
  readonly provisionalCapFraction: number | undefined;
}

/**
 * What both Redis stores ask of their client and prefix: a connection that can run scripts (not
 * in subscriber or monitor mode: see `clientModeProblem`), and neither the store's `keyPrefix` nor
 * the client's own (ioredis `keyPrefix`) holding a brace (see `keyPrefixProblem`).
 */
export function checkClient(prefix: string, client: unknown, field: (name: string) => string): void {
  const mode = clientModeProblem(client);
  if (mode !== undefined) throw new ConfigurationError(field('client'), mode);
  const problem = keyPrefixProblem(prefix);
  if (problem !== undefined) throw new ConfigurationError(field('keyPrefix'), problem);
  const own = clientKeyPrefix(client);
  const ownProblem = own === undefined ? undefined : keyPrefixProblem(own);
  if (ownProblem !== undefined) throw new ConfigurationError(field('client'), `its own keyPrefix (an ioredis option, put before every key) ${ownProblem}`);
}

export function resolveRedisStoreOptions(o: RedisBudgetStoreOptions): RedisStoreSettings {
  const field = (name: string): string => `RedisBudgetStore.${name}`;
  const prefix = o.keyPrefix ?? 'bedrock-finops:';
  if (typeof prefix !== 'string') throw new ConfigurationError(field('keyPrefix'), 'must be a string');
  checkClient(prefix, o.client, field);
  const fraction = o.sliceFraction ?? 0.0625;
  if (typeof fraction !== 'number' || !(fraction > 0 && fraction <= 1)) throw new ConfigurationError(field('sliceFraction'), 'must be a number in (0, 1]');
  const sliceTtlMs = timerMs(o.sliceTtlMs, 30_000, field('sliceTtlMs'));
  const flushIntervalMs = timerMs(o.flushIntervalMs, 500, field('flushIntervalMs'));
  if (flushIntervalMs * 3 > sliceTtlMs) throw new ConfigurationError(field('flushIntervalMs'), 'must be at most a third of sliceTtlMs (slices are renewed as usage is flushed)');
  const cap = o.provisionalCapFraction;
  if (cap !== undefined && (typeof cap !== 'number' || !(cap >= 0 && cap <= 1))) throw new ConfigurationError(field('provisionalCapFraction'), 'must be a number in [0, 1]');
  const idempotencyMs = positiveInteger(o.idempotencyMs, 3_600_000, field('idempotencyMs'));
  if (idempotencyMs < sliceTtlMs * 2) throw new ConfigurationError(field('idempotencyMs'), 'must be at least twice sliceTtlMs');
  return {
    prefix,
    sliceFraction: fraction,
    sliceTtlMs,
    flushIntervalMs,
    idleReturnMs: timerMs(o.idleReturnMs, 10_000, field('idleReturnMs')),
    storeTimeoutMs: timerMs(o.storeTimeoutMs, 500, field('storeTimeoutMs')),
    closeTimeoutMs: timerMs(o.closeTimeoutMs, 5_000, field('closeTimeoutMs')),
    idempotencyMs,
    retainMs: positiveInteger(o.retainMs, 86_400_000, field('retainMs')),
    provisionalCapFraction: cap,
  };
}
