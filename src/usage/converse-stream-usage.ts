import { asObject, pick } from './json.js';
import { usageFromConverse } from './converse.js';
import { tokensForChars } from './heuristic.js';
import type { ObservedUsage } from './token-usage.js';

function textLength(value: unknown): number {
  return typeof value === 'string' ? value.length : 0;
}

/**
 * Follows a ConverseStream: usage arrives in the `metadata` event, after `messageStop`. Until it
 * does, it counts the characters of the deltas it has seen (never keeping them), so a stream that
 * ends without usage can still be charged an estimate of what it produced.
 */
export class ConverseStreamUsageTracker {
  private observed: ObservedUsage | undefined;
  private outputChars = 0;
  /** The service tier the `metadata` event reported. */
  serviceTier: string | undefined;
  /** `metadata.performanceConfig.latency`. */
  performanceLatency: string | undefined;
  /** The model an intelligent prompt router sent the call to (`metadata.trace.promptRouter.invokedModelId`). */
  routedModelId: string | undefined;

  add(event: unknown): void {
    if (typeof event !== 'object' || event === null) return;
    const e = event as { contentBlockDelta?: { delta?: unknown }; metadata?: { usage?: unknown; serviceTier?: { type?: unknown }; trace?: unknown; performanceConfig?: unknown } };
    const delta = e.contentBlockDelta?.delta;
    if (delta !== undefined) {
      // Per event: named reads, and the rarer parts only when present.
      const d = asObject(delta);
      if (d === undefined) return;
      this.outputChars += textLength(d.text);
      const { toolUse, reasoningContent } = d;
      if (toolUse !== undefined) this.outputChars += textLength(asObject(toolUse)?.input);
      if (reasoningContent !== undefined) this.outputChars += textLength(asObject(reasoningContent)?.text);
      return;
    }
    const metadata = e.metadata;
    if (metadata === undefined) return;
    const usage = usageFromConverse(metadata.usage);
    if (usage !== undefined) this.observed = { usage, source: 'usage' };
    const tier = metadata.serviceTier?.type;
    if (typeof tier === 'string') this.serviceTier = tier;
    const latency = pick(metadata.performanceConfig, 'latency');
    if (typeof latency === 'string') this.performanceLatency = latency;
    const routed = pick(metadata.trace, 'promptRouter', 'invokedModelId');
    if (typeof routed === 'string' && routed.length > 0) this.routedModelId = routed;
  }

  /** What an event weighs against the drain's byte bound. */
  size(event: unknown): number {
    const delta = pick(event, 'contentBlockDelta', 'delta');
    if (delta === undefined) return 64;
    return 64 + textLength(pick(delta, 'text')) + textLength(pick(delta, 'toolUse', 'input')) + textLength(pick(delta, 'reasoningContent', 'text')) + textLength(pick(delta, 'reasoningContent', 'signature'));
  }

  /** Output tokens the deltas seen so far amount to (the heuristic; a lower bound on what was billed). */
  outputSeen(): number {
    return tokensForChars(this.outputChars);
  }

  result(): ObservedUsage | undefined {
    return this.observed;
  }
}
