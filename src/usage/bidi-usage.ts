import { Buffer } from 'node:buffer';
import { asCount, parseJsonObject, pick } from './json.js';
import type { ObservedUsage } from './token-usage.js';

const MARKER = 'usageEvent';

/**
 * Follows an InvokeModelWithBidirectionalStream (Nova Sonic) output without touching it: only
 * chunks that mention `usageEvent` are parsed (audio chunks are large and never are); the last
 * cumulative `totalInputTokens` / `totalOutputTokens` seen is the session's usage.
 */
export class BidiUsageTracker {
  private inputTokens: number | undefined;
  private outputTokens: number | undefined;

  add(event: unknown): void {
    const bytes = pick(event, 'chunk', 'bytes');
    if (!(bytes instanceof Uint8Array)) return;
    if (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(MARKER) < 0) return;
    const usage = pick(parseJsonObject(bytes), 'event', MARKER);
    const input = asCount(pick(usage, 'totalInputTokens'));
    const output = asCount(pick(usage, 'totalOutputTokens'));
    if (input !== undefined) this.inputTokens = input;
    if (output !== undefined) this.outputTokens = output;
  }

  result(): ObservedUsage | undefined {
    if (this.inputTokens === undefined && this.outputTokens === undefined) return undefined;
    return { usage: { inputTokens: this.inputTokens, outputTokens: this.outputTokens }, source: 'body' };
  }
}
