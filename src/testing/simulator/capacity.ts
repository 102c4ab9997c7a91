/** A capacity limit; a request over it answers 429 `ThrottlingException`. */
export interface SimulatorCapacity {
  /** Tokens (input + output) in any 60 seconds (a sliding window: runs behave the same whenever they start). */
  readonly tokensPerMinute?: number;
  /** Requests in flight at once (a stream is in flight until its last event). */
  readonly maxConcurrency?: number;
}

const WINDOW_MS = 60_000;

/** One model id's capacity use: tokens taken in the last 60 seconds and requests in flight. */
export class CapacityMeter {
  private readonly taken: { readonly at: number; readonly tokens: number }[] = [];
  private used = 0;
  active = 0;

  constructor(private readonly capacity: SimulatorCapacity) {}

  /** Takes `tokens` of capacity, or says no. */
  admit(tokens: number, now: number): boolean {
    while (this.taken.length > 0 && (this.taken[0] as { at: number }).at <= now - WINDOW_MS) this.used -= (this.taken.shift() as { tokens: number }).tokens;
    const { tokensPerMinute, maxConcurrency } = this.capacity;
    if (maxConcurrency !== undefined && this.active >= maxConcurrency) return false;
    if (tokensPerMinute !== undefined && this.used + tokens > tokensPerMinute) return false;
    if (tokensPerMinute !== undefined) {
      this.taken.push({ at: now, tokens });
      this.used += tokens;
    }
    this.active++;
    return true;
  }
}
