import { usageFromConverse } from './converse.js';
import type { ObservedUsage } from './invoke-model.js';

/** Follows a ConverseStream: usage arrives in the `metadata` event, usually the last one. */
export class ConverseStreamUsageTracker {
  private observed: ObservedUsage | undefined;

  add(event: unknown): void {
    if (typeof event !== 'object' || event === null) return;
    const metadata = (event as { metadata?: { usage?: unknown } }).metadata;
    if (metadata === undefined) return;
    const usage = usageFromConverse(metadata.usage);
    if (usage !== undefined) this.observed = { usage, source: 'usage' };
  }

  result(): ObservedUsage | undefined {
    return this.observed;
  }
}
