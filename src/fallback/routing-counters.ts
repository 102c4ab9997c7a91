import { keyPart } from '../key-part.js';

const MAX_SERIES = 1000;

/** What routing did, for metrics: fallbacks by from / to / reason, throttled attempts by model and error. */
export class RoutingCounters {
  readonly fallbacks = new Map<string, { from: string; to: string; reason: string; count: number }>();
  readonly throttles = new Map<string, { model: string; error: string; count: number }>();

  fallback(from: string, to: string, reason: string): void {
    // Model ids may hold any character (the quota fallback's `from` is the caller's).
    const key = keyPart(from) + keyPart(to) + reason;
    const e = this.fallbacks.get(key);
    if (e !== undefined) e.count++;
    else if (this.fallbacks.size < MAX_SERIES) this.fallbacks.set(key, { from, to, reason, count: 1 });
  }

  throttle(model: string, error: string): void {
    const key = keyPart(model) + error;
    const e = this.throttles.get(key);
    if (e !== undefined) e.count++;
    else if (this.throttles.size < MAX_SERIES) this.throttles.set(key, { model, error, count: 1 });
  }
}
