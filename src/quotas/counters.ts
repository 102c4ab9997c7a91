const MAX_SERIES = 1000;

/** What the quota governors did, for metrics: per quota, and refusals by reason. */
export class QuotaCounters {
  /** Calls that waited for room, by quota; and how they ended. */
  readonly waits = new Map<string, { admitted: number; timedOut: number; ms: number }>();
  /** Calls refused, by quota and reason (`limit`, `wait-timeout`, `too-large`). */
  readonly refusals = new Map<string, { quota: string; reason: string; count: number }>();
  /** Throttles avoided (a call waited, was refused or went to its fallback instead of drawing a 429) and seen (a 429 anyway), by quota. */
  readonly throttles = new Map<string, { avoided: number; seen: number }>();

  private throttle(quota: string): { avoided: number; seen: number } {
    let t = this.throttles.get(quota);
    if (t === undefined) {
      t = { avoided: 0, seen: 0 };
      if (this.throttles.size < MAX_SERIES) this.throttles.set(quota, t);
    }
    return t;
  }

  waited(quota: string, ms: number, admitted: boolean): void {
    let w = this.waits.get(quota);
    if (w === undefined) {
      w = { admitted: 0, timedOut: 0, ms: 0 };
      if (this.waits.size < MAX_SERIES) this.waits.set(quota, w);
    }
    if (admitted) w.admitted++;
    else w.timedOut++;
    // A counter: a clock that stepped back during the wait must not make it go down.
    if (ms > 0) w.ms += ms;
  }

  refused(quota: string, reason: string): void {
    const key = `${quota}\u0001${reason}`;
    const r = this.refusals.get(key);
    if (r !== undefined) r.count++;
    else if (this.refusals.size < MAX_SERIES) this.refusals.set(key, { quota, reason, count: 1 });
  }

  avoided(quota: string): void {
    this.throttle(quota).avoided++;
  }

  seen(quota: string): void {
    this.throttle(quota).seen++;
  }
}
