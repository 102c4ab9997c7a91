import type { QuotaAmount } from './amount.js';

/** After a throttle, believe at least this share of the configured limit. */
const MIN_SHARE = 0.1;
/** Each throttle takes the belief down to at most this share of what it was, and of what was in use. */
const BACK_OFF = 0.9;

/**
 * The limit the governor paces against: the configured one, until Bedrock answers an on-demand
 * call that matched it with a 429 (the account's quota is smaller than configured, or other
 * clients share it). Each 429 then lowers the belief to 90% of the lesser of what it was and
 * what was in use at that moment (never below 10% of the configured limit), so a burst of
 * throttles backs off quickly; it holds for one window after the last 429 and grows back to the
 * configured limit linearly over the next.
 */
export class BelievedLimit {
  private shrunk = 1;
  private at = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly configured: QuotaAmount,
    private readonly windowMs: number,
  ) {}

  /** The fraction of the configured limit believed at `now` (1: all of it). */
  fraction(now: number): number {
    // The clock stepped back: the last 429 counts as now, so the belief recovers two windows from here.
    if (now < this.at) this.at = now;
    const since = now - this.at;
    if (since >= 2 * this.windowMs) return 1;
    if (since <= this.windowMs) return this.shrunk;
    return this.shrunk + ((1 - this.shrunk) * (since - this.windowMs)) / this.windowMs;
  }

  limit(now: number): QuotaAmount {
    const f = this.fraction(now);
    if (f === 1) return this.configured;
    return { tokens: Math.floor(this.configured.tokens * f), requests: this.configured.requests === Infinity ? Infinity : Math.floor(this.configured.requests * f) };
  }

  /** Bedrock throttled a call while `inUse` tokens of this quota were in use here. */
  throttled(inUse: number, now: number): void {
    const before = this.fraction(now);
    const seen = this.configured.tokens > 0 ? inUse / this.configured.tokens : 0;
    this.shrunk = Math.max(MIN_SHARE, BACK_OFF * Math.min(before, seen));
    this.at = now;
  }
}
