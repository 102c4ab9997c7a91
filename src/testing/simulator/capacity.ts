/** A capacity limit; a request over it answers 429 `ThrottlingException`. */
export interface SimulatorCapacity {
  /** Tokens (input + output) per UTC minute. */
  readonly tokensPerMinute?: number;
  /** Requests in flight at once (a stream is in flight until its last event). */
  readonly maxConcurrency?: number;
}

/** One model id's capacity use: tokens in the current UTC minute and requests in flight. */
export class CapacityMeter {
  private minute = -1;
  private used = 0;
  active = 0;

  constructor(private readonly capacity: SimulatorCapacity) {}

  /** Takes `tokens` of capacity, or says no. */
  admit(tokens: number, now: number): boolean {
    const minute = Math.floor(now / 60_000);
    if (minute !== this.minute) {
      this.minute = minute;
      this.used = 0;
    }
    const { tokensPerMinute, maxConcurrency } = this.capacity;
    if (maxConcurrency !== undefined && this.active >= maxConcurrency) return false;
    if (tokensPerMinute !== undefined && this.used + tokens > tokensPerMinute) return false;
    this.used += tokens;
    this.active++;
    return true;
  }
}
