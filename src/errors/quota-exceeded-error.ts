import { brand, brandOf, FinOpsError } from './finops-error.js';

/** What the refused call ran into. */
export interface QuotaExceededDetails {
  /** The quota's name. */
  readonly quota: string;
  /** The share the call belongs to (the `shares.per` value, e.g. the team), or `undefined` for a quota without shares. */
  readonly key: string | undefined;
  /** Quota tokens the call needs: its input estimate + cache writes + `maxTokens` × burndown. */
  readonly neededTokens: number;
  /** The quota's tokens per window, as believed when the call was refused (less than configured for a while after Bedrock throttled). */
  readonly limitTokens: number;
  /** Quota tokens in use (charged in the window plus held by calls in flight) when the call was refused. */
  readonly inUseTokens: number;
  /** When enough room should be back, if the window says (`undefined`: once calls in flight finish). */
  readonly retryAt: Date | undefined;
  /**
   * Why: `limit` — no room now (`onLimit: 'reject'`, or a `'fallback'` whose fallback had no room
   * either); `wait-timeout` — it waited `maxWaitMs` (`onLimit: 'wait'`); `too-large` — it needs
   * more than the whole quota and could never fit.
   */
  readonly reason: 'limit' | 'wait-timeout' | 'too-large';
}

/** Thrown before a request is sent, when a quota has no room for the call. Nothing was sent. */
export class QuotaExceededError extends FinOpsError implements QuotaExceededDetails {
  override name = 'QuotaExceededError';
  readonly quota: string;
  readonly key: string | undefined;
  readonly neededTokens: number;
  readonly limitTokens: number;
  readonly inUseTokens: number;
  readonly retryAt: Date | undefined;
  readonly reason: 'limit' | 'wait-timeout' | 'too-large';

  constructor(details: QuotaExceededDetails) {
    const who = details.key === undefined ? `"${details.quota}"` : `"${details.quota}" for "${details.key}"`;
    const why =
      details.reason === 'too-large'
        ? `this call needs ${details.neededTokens} quota tokens, more than the whole quota (${details.limitTokens}); lower its maxTokens`
        : `this call needs ${details.neededTokens} quota tokens, ${details.inUseTokens} of ${details.limitTokens} are in use${details.reason === 'wait-timeout' ? ' after waiting maxWaitMs' : ''}; ${details.retryAt === undefined ? 'room returns as calls in flight finish' : `room returns by ${details.retryAt.toISOString()}`}`;
    super(`Quota ${who} has no room: ${why}. Nothing was sent.`);
    this.quota = details.quota;
    this.key = details.key;
    this.neededTokens = details.neededTokens;
    this.limitTokens = details.limitTokens;
    this.inUseTokens = details.inUseTokens;
    this.retryAt = details.retryAt;
    this.reason = details.reason;
    brand(this, 'QuotaExceededError');
  }
}

/** Whether `error` is a {@link QuotaExceededError} (works across realms and duplicate installs). */
export function isQuotaExceededError(error: unknown): error is QuotaExceededError {
  return brandOf(error) === 'QuotaExceededError';
}
