import { ZERO_AMOUNT, type QuotaAmount, type QuotaField } from './amount.js';

/**
 * One team's use of one quota in this process: tokens held by calls in flight, and what was
 * charged (tokens at settlement, a request at admission) over a sliding window. A charge counts
 * until `windowMs` after it was made, so the view is never below Bedrock's, whichever end of a
 * request Bedrock dates it by.
 */
export class WindowUse {
  private inflight = 0;
  private at: number[] = [];
  private tokens: number[] = [];
  private requests: number[] = [];
  private head = 0;
  private winTokens = 0;
  private winRequests = 0;

  /** Drops charges older than the window. */
  private expire(now: number, windowMs: number): void {
    // The clock stepped back: charges dated after `now` count one window from now, not a window
    // past a time the clock will only reach again after the step (a 1 h step held a full quota for the hour).
    let last = this.at.length - 1;
    while (last >= this.head && (this.at[last] ?? 0) > now) this.at[last--] = now;
    const cutoff = now - windowMs;
    while (this.head < this.at.length && (this.at[this.head] ?? Infinity) <= cutoff) {
      this.winTokens -= this.tokens[this.head] ?? 0;
      this.winRequests -= this.requests[this.head] ?? 0;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.at.length) {
      this.at = this.at.slice(this.head);
      this.tokens = this.tokens.slice(this.head);
      this.requests = this.requests.slice(this.head);
      this.head = 0;
    }
  }

  /** In flight plus charged in the window. */
  use(now: number, windowMs: number): QuotaAmount {
    this.expire(now, windowMs);
    if (this.inflight === 0 && this.winTokens === 0 && this.winRequests === 0) return ZERO_AMOUNT;
    return { tokens: this.inflight + this.winTokens, requests: this.winRequests };
  }

  /** Whether anything is in flight or in the window. */
  busy(now: number, windowMs: number): boolean {
    const u = this.use(now, windowMs);
    return u.tokens > 0 || u.requests > 0;
  }

  private charge(now: number, tokens: number, requests: number): void {
    if (tokens === 0 && requests === 0) return;
    // Clocks can step back; keep the window ordered.
    const last = this.at.length > this.head ? (this.at[this.at.length - 1] ?? now) : now;
    this.at.push(Math.max(now, last));
    this.tokens.push(tokens);
    this.requests.push(requests);
    this.winTokens += tokens;
    this.winRequests += requests;
  }

  /** A call is admitted: its tokens are held until it settles; its request counts now (Bedrock counts it at the start). */
  hold(need: QuotaAmount, now: number): void {
    this.inflight += need.tokens;
    this.charge(now, 0, need.requests);
  }

  /** A call settled: its hold is released and its charge enters the window. */
  settle(held: QuotaAmount, charged: QuotaAmount, now: number): void {
    this.inflight = Math.max(0, this.inflight - held.tokens);
    this.charge(now, charged.tokens, charged.requests);
  }

  /**
   * When `amount` of `field` will have left the window (on the clock charges were dated by), walking charges oldest first;
   * `undefined` when the window alone cannot free that much (calls in flight must settle first).
   */
  freedAt(field: QuotaField, amount: number, windowMs: number): number | undefined {
    if (amount <= 0) return undefined;
    const values = field === 'tokens' ? this.tokens : this.requests;
    let freed = 0;
    for (let i = this.head; i < this.at.length; i++) {
      freed += values[i] ?? 0;
      if (freed >= amount) return (this.at[i] ?? 0) + windowMs;
    }
    return undefined;
  }
}
