import { assertRuleKey } from '../budgets/rule.js';
import { ConfigurationError } from '../errors/configuration-error.js';
import { MAX_SAFE_AMOUNT } from '../money.js';
import { assertKnownKeys, assertModelId, MAX_TIMER_MS, oneOf, positiveInteger, timerMs } from '../validate.js';
import type { QuotaAmount } from './amount.js';
import { compileQuotaMatch, type QuotaMatch, type QuotaSubject } from './match.js';
import type { QuotaStore } from './store.js';

/** How a quota is shared between the values of an attribution key (teams). */
export interface QuotaShares {
  /** The attribution key whose values share the quota, e.g. `'team'`. Calls without it share one part. */
  readonly per: string;
  /** Relative weights by value, each a positive number up to 1,000,000. @defaultValue `1` for every value */
  readonly weights?: Readonly<Record<string, number>>;
  /** The least part of the quota any active value is guaranteed, as a fraction (0 to 1). @defaultValue `0` */
  readonly floor?: number;
}

/** What to do with a call the quota has no room for now. */
export type QuotaOnLimit = 'wait' | 'reject' | 'fallback';

/**
 * A Bedrock on-demand quota to pace calls against, counted the way Bedrock counts it (see the
 * README, "Quotas").
 */
export interface QuotaRule {
  /** Unique name; it appears in errors, metrics and `finops.quotas.status()`. */
  readonly name: string;
  /** Which calls draw on it: `model` (required), `region`, `inference`, attribution keys. */
  readonly match: QuotaMatch;
  /** Quota tokens per window (Bedrock's "tokens per minute" for the model). */
  readonly tokensPerMinute: number;
  /** Requests per window, if you want them paced too. @defaultValue no request limit */
  readonly requestsPerMinute?: number;
  /** Quota tokens per output token. @defaultValue the model's rate from the burndown table (5 for Claude 4 class models, else 1) */
  readonly burndown?: number;
  /** Guaranteed parts per team, idle parts borrowable. @defaultValue not shared (one pool, first come first served) */
  readonly shares?: QuotaShares;
  /**
   * A call that does not fit now: `'wait'` queues it in arrival order for up to `maxWaitMs`,
   * `'reject'` throws `QuotaExceededError`, `'fallback'` sends it to `fallback`.
   * @defaultValue `'wait'`
   */
  readonly onLimit?: QuotaOnLimit;
  /** With `'wait'`: how long a call may wait before it is refused, in ms (at most 2^31 − 1, about 24.8 days). @defaultValue `2 × windowMs`, at most 2^31 − 1 (by then the calls in use when it came have settled and left the window, unless they run longer than a window) */
  readonly maxWaitMs?: number;
  /** With `'fallback'`: the model id or inference profile calls go to instead (e.g. a `global.` profile). */
  readonly fallback?: string;
  /** The window the limits apply to, in ms (a sliding window, as Bedrock's minute; at most 2^31 − 1). Change it only for tests and simulations. @defaultValue `60000` */
  readonly windowMs?: number;
}

/** A validated share configuration. */
export interface CompiledShares {
  readonly per: string;
  readonly floor: number;
  weightOf(value: string): number;
}

/** A validated quota, ready for the hot path. */
export interface CompiledQuota {
  readonly rule: QuotaRule;
  readonly name: string;
  readonly matches: (s: QuotaSubject) => boolean;
  /** Whether the call's model, region and pool match (attribution aside). */
  readonly matchesModel: (s: QuotaSubject) => boolean;
  /** Tokens and requests per window (`Infinity` requests without `requestsPerMinute`). */
  readonly limit: QuotaAmount;
  readonly burndown: number | undefined;
  readonly shares: CompiledShares | undefined;
  readonly onLimit: QuotaOnLimit;
  readonly maxWaitMs: number;
  readonly fallback: string | undefined;
  readonly windowMs: number;
}

/** Quota options of `bedrockFinOps`. */
export interface QuotasInputConfig {
  /**
   * Bedrock on-demand quotas to pace calls against before Bedrock throttles them.
   * @defaultValue `[]`
   */
  readonly quotas?: readonly QuotaRule[];
  /**
   * Where quota use lives. Use `new RedisQuotaStore({ client })` (from `bedrock-finops/quotas`)
   * to pace a fleet against one account quota.
   * @defaultValue an in-memory store (this process only)
   */
  readonly quotaStore?: QuotaStore;
}

export interface QuotasResolvedConfig {
  readonly quotas: readonly CompiledQuota[];
  readonly quotaStore: QuotaStore | undefined;
}

export const QUOTAS_OPTION_KEYS = ['quotas', 'quotaStore'] as const;

const RULE_KEYS = ['name', 'match', 'tokensPerMinute', 'requestsPerMinute', 'burndown', 'shares', 'onLimit', 'maxWaitMs', 'fallback', 'windowMs'];
const SHARE_KEYS = ['per', 'weights', 'floor'];

function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 32) return true;
  return false;
}

function positiveNumber(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new ConfigurationError(field, 'must be a positive number');
  return value;
}

/** A limit counted exactly (in a double here, in Lua's doubles in a shared store): a positive integer up to 2^53 − 1. */
function countLimit(value: unknown, fallback: number, field: string): number {
  const n = positiveInteger(value, fallback, field);
  if (n > MAX_SAFE_AMOUNT) throw new ConfigurationError(field, `must be at most ${MAX_SAFE_AMOUNT} (larger limits cannot be counted exactly)`);
  return n;
}

/** The largest share weight. */
const MAX_WEIGHT = 1_000_000;

function compileShares(raw: unknown, at: string): CompiledShares | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigurationError(at, "must be an object such as { per: 'team' }");
  assertKnownKeys(raw as Record<string, unknown>, SHARE_KEYS, at);
  const s = raw as Partial<QuotaShares>;
  if (typeof s.per !== 'string' || s.per.length === 0) throw new ConfigurationError(`${at}.per`, "must be an attribution key, e.g. 'team'");
  assertRuleKey(s.per, `${at}.per`);
  const weights = new Map<string, number>();
  if (s.weights !== undefined) {
    if (typeof s.weights !== 'object' || s.weights === null || Array.isArray(s.weights)) throw new ConfigurationError(`${at}.weights`, 'must be an object of value → weight');
    for (const key of Object.keys(s.weights)) {
      const w = positiveNumber(s.weights[key], `${at}.weights.${key}`);
      // Weights are relative; past this their sums and products with a limit stop being exact (and overflow to NaN shares).
      if (w > MAX_WEIGHT) throw new ConfigurationError(`${at}.weights.${key}`, `must be at most ${MAX_WEIGHT} (weights are relative: 1 and 3 mean a quarter and three quarters)`);
      weights.set(key, w);
    }
  }
  const floor = s.floor ?? 0;
  if (typeof floor !== 'number' || !(floor >= 0 && floor <= 1)) throw new ConfigurationError(`${at}.floor`, 'must be a fraction from 0 to 1');
  return { per: s.per, floor, weightOf: (value) => weights.get(value) ?? 1 };
}

function compileQuota(raw: unknown, i: number, names: Set<string>): CompiledQuota {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigurationError(`quotas[${i}]`, 'must be an object');
  const rule = raw as Partial<QuotaRule>;
  const name = rule.name;
  // Names key store entries and hash tags: no control characters.
  if (typeof name !== 'string' || name.length === 0 || hasControlCharacter(name)) throw new ConfigurationError(`quotas[${i}].name`, 'must be a non-empty string without control characters');
  const at = `quotas[${i}] ("${name}")`;
  assertKnownKeys(raw as Record<string, unknown>, RULE_KEYS, at);
  if (names.has(name)) throw new ConfigurationError(`${at}.name`, 'is used by another quota: names must be unique');
  names.add(name);
  const tokens = countLimit(rule.tokensPerMinute, 0, `${at}.tokensPerMinute`);
  if (tokens === 0) throw new ConfigurationError(`${at}.tokensPerMinute`, 'is required (the quota from Service Quotas, e.g. 200000)');
  const requests = rule.requestsPerMinute === undefined ? Infinity : countLimit(rule.requestsPerMinute, 1, `${at}.requestsPerMinute`);
  let burndown: number | undefined;
  if (rule.burndown !== undefined) {
    burndown = positiveNumber(rule.burndown, `${at}.burndown`);
    if (burndown < 1) throw new ConfigurationError(`${at}.burndown`, 'must be at least 1 (quota tokens per output token)');
    // Bedrock's rates are 1 and 5; past 1,000 every call with a maxTokens would be refused as too large.
    if (burndown > 1000) throw new ConfigurationError(`${at}.burndown`, `must be at most 1000 quota tokens per output token (got ${burndown})`);
  }
  const onLimit = oneOf(rule.onLimit, ['wait', 'reject', 'fallback'], 'wait', `${at}.onLimit`);
  if (onLimit === 'fallback') assertModelId(rule.fallback, `${at}.fallback`);
  else if (rule.fallback !== undefined) throw new ConfigurationError(`${at}.fallback`, "is used only with onLimit: 'fallback'");
  // Timers wait for both (a wait's deadline, the next look at the window): no longer than a Node timer can.
  const windowMs = timerMs(rule.windowMs, 60_000, `${at}.windowMs`);
  const maxWaitMs = rule.maxWaitMs === undefined ? Math.min(2 * windowMs, MAX_TIMER_MS) : rule.maxWaitMs === 0 ? 0 : timerMs(rule.maxWaitMs, windowMs, `${at}.maxWaitMs`);
  return {
    rule: rule as QuotaRule,
    name,
    ...compileQuotaMatch(rule.match, `${at}.match`),
    limit: { tokens, requests },
    burndown,
    shares: compileShares(rule.shares, `${at}.shares`),
    onLimit,
    maxWaitMs,
    fallback: rule.fallback,
    windowMs,
  };
}

/** Validates quota options; throws a {@link ConfigurationError} naming the quota and field. */
export function resolveQuotasConfig(o: QuotasInputConfig): QuotasResolvedConfig {
  const store = o.quotaStore;
  if (store !== undefined && (typeof store !== 'object' || store === null || typeof store.tryHold !== 'function' || typeof store.settle !== 'function' || typeof store.read !== 'function'))
    throw new ConfigurationError('quotaStore', 'must implement tryHold, settle and read (see QuotaStore)');
  const raw: unknown = o.quotas;
  if (raw !== undefined && !Array.isArray(raw)) throw new ConfigurationError('quotas', 'must be an array of quota rules');
  const names = new Set<string>();
  return { quotas: (raw ?? []).map((q: unknown, i: number) => compileQuota(q, i, names)), quotaStore: store };
}
