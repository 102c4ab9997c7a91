import { ConfigurationError } from '../../errors/configuration-error.js';
import { checkClient } from '../../budgets/redis/options.js';
import type { RedisClientLike } from '../../budgets/redis/redis-client.js';
import { positiveInteger } from '../../validate.js';

/** Options of `RedisQuotaStore`. Durations are in ms. */
export interface RedisQuotaStoreOptions {
  /** Your ioredis or node-redis (v4+) client (or cluster), connected. The store never closes it. */
  readonly client: RedisClientLike;
  /**
   * Prefix of every key; each quota's keys get their own `{hash tag}` (the quota's name), so a
   * prefix holding `{` or `}` is a `ConfigurationError`.
   * @defaultValue `'bedrock-finops:'`
   */
  readonly keyPrefix?: string;
  /**
   * How much room beyond what waiting calls need a process asks for when its slice is short, as
   * a share of the limit (so the next calls need no round trip).
   * @defaultValue `0.05`
   */
  readonly sliceFraction?: number;
  /**
   * How long a slice lives in Redis without being renewed; then it cools for one window (its
   * charges are still in Bedrock's window) and its room returns to the quota.
   * @defaultValue `30000`
   */
  readonly sliceTtlMs?: number;
  /**
   * How often a process renews its slices: keeps what it uses, gives back what it does not.
   * @defaultValue `500`
   */
  readonly renewIntervalMs?: number;
  /**
   * A slice unused for this long keeps no spare room at its next renewal.
   * @defaultValue `2000`
   */
  readonly idleReturnMs?: number;
  /**
   * How long admission waits for Redis before it gives up; the call then goes on without a quota
   * check (Bedrock is still the real limit), and calls within the slices held are not affected.
   * @defaultValue `500`
   */
  readonly storeTimeoutMs?: number;
  /**
   * How long `close()` (and `finops.shutdown()`) keeps trying to give slices back.
   * @defaultValue `5000`
   */
  readonly closeTimeoutMs?: number;
}

export interface RedisQuotaSettings {
  readonly prefix: string;
  readonly sliceFraction: number;
  readonly sliceTtlMs: number;
  readonly renewIntervalMs: number;
  readonly idleReturnMs: number;
  readonly storeTimeoutMs: number;
  readonly closeTimeoutMs: number;
}

export function resolveRedisQuotaOptions(o: RedisQuotaStoreOptions): RedisQuotaSettings {
  const field = (name: string): string => `RedisQuotaStore.${name}`;
  const prefix = o.keyPrefix ?? 'bedrock-finops:';
  if (typeof prefix !== 'string') throw new ConfigurationError(field('keyPrefix'), 'must be a string');
  checkClient(prefix, o.client, field);
  const fraction = o.sliceFraction ?? 0.05;
  if (typeof fraction !== 'number' || !(fraction >= 0 && fraction <= 1)) throw new ConfigurationError(field('sliceFraction'), 'must be a number from 0 to 1');
  const sliceTtlMs = positiveInteger(o.sliceTtlMs, 30_000, field('sliceTtlMs'));
  const renewIntervalMs = positiveInteger(o.renewIntervalMs, 500, field('renewIntervalMs'));
  if (renewIntervalMs * 3 > sliceTtlMs) throw new ConfigurationError(field('renewIntervalMs'), 'must be at most a third of sliceTtlMs');
  return {
    prefix,
    sliceFraction: fraction,
    sliceTtlMs,
    renewIntervalMs,
    idleReturnMs: positiveInteger(o.idleReturnMs, 2_000, field('idleReturnMs')),
    storeTimeoutMs: positiveInteger(o.storeTimeoutMs, 500, field('storeTimeoutMs')),
    closeTimeoutMs: positiveInteger(o.closeTimeoutMs, 5_000, field('closeTimeoutMs')),
  };
}
