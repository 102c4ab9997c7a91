import { QuotaExceededError } from '../errors/quota-exceeded-error.js';
import type { QuotaAmount } from './amount.js';
import type { BelievedLimit } from './believed-limit.js';
import { quotaNow, wallDate } from './clock.js';
import type { CompiledQuota } from './config.js';

/** Why a call found no room, as the caller sees it. */
export interface RefusalFacts {
  readonly team: string;
  readonly need: QuotaAmount;
  readonly inUse: number;
  /** On the quota clock (see `quotaNow`). */
  readonly retryAt: number | undefined;
  readonly reason: QuotaExceededError['reason'];
}

/** The typed refusal of a call by `quota` (the limit it was refused against: the whole quota for a call too large, else the believed one). */
export function quotaRefusal(quota: CompiledQuota, believed: BelievedLimit, f: RefusalFacts): QuotaExceededError {
  return new QuotaExceededError({
    quota: quota.name,
    key: quota.shares === undefined ? undefined : f.team,
    neededTokens: f.need.tokens,
    limitTokens: f.reason === 'too-large' ? quota.limit.tokens : believed.limit(quotaNow()).tokens,
    inUseTokens: f.inUse,
    // The store answers on the quota clock; the caller schedules by the wall clock.
    retryAt: f.retryAt === undefined || !Number.isFinite(f.retryAt) ? undefined : wallDate(f.retryAt),
    reason: f.reason,
  });
}
