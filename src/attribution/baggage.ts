import { context, propagation, type Baggage } from '@opentelemetry/api';
import type { Attribution } from '../record.js';
import { attributionFromData, EMPTY_ATTRIBUTION } from './normalize.js';

/**
 * Reads attribution from the active OpenTelemetry Baggage: every entry, or only `keys`. Baggage
 * is set at the edge and crosses services, so it is untrusted data: keys are normalised and
 * values bounded like `withAttribution`'s, never thrown on. Cached per baggage object (baggage is
 * immutable and passed along by identity), so a request pays the conversion once.
 */
export class BaggageAttribution {
  private readonly cache = new WeakMap<Baggage, Attribution>();
  private readonly keys: ReadonlySet<string> | undefined;

  constructor(keys: readonly string[] | undefined) {
    this.keys = keys === undefined ? undefined : new Set(keys);
  }

  current(): Attribution {
    const baggage = propagation.getBaggage(context.active());
    if (baggage === undefined) return EMPTY_ATTRIBUTION;
    let hit = this.cache.get(baggage);
    if (hit !== undefined) return hit;
    const data: Record<string, string> = {};
    for (const [key, entry] of baggage.getAllEntries()) if (this.keys === undefined || this.keys.has(key)) data[key] = entry.value;
    hit = attributionFromData(data);
    this.cache.set(baggage, hit);
    return hit;
  }
}
