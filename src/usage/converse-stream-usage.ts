import { usageFromConverse } from './converse.js';
import type { ObservedUsage } from './token-usage.js';

/** Follows a ConverseStream: usage arrives in the `metadata` event, usually the last one. */
export class ConverseStreamUsageTracker {
  private observed: ObservedUsage | undefined;
  /** The service tier the `metadata` event reported. */
  serviceTier: string | undefined;

  add(event: unknown): void {
    if (typeof event !== 'object' || event === null) return;
    const metadata = (event as { metadata?: { usage?: unknown; serviceTier?: { type?: unknown } } }).metadata;
    if (metadata === undefined) return;
    const usage = usageFromConverse(metadata.usage);
    if (usage !== undefined) this.observed = { usage, source: 'usage' };
    const tier = metadata.serviceTier?.type;
    if (typeof tier === 'string') this.serviceTier = tier;
  }

  result(): ObservedUsage | undefined {
    return this.observed;
  }
}
