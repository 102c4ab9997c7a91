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
  private speechInputTokens: number | undefined;
  private speechOutputTokens: number | undefined;

  add(event: unknown): void {
    const bytes = pick(event, 'chunk', 'bytes');
    if (!(bytes instanceof Uint8Array)) return;
    if (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(MARKER) < 0) return;
    const usage = pick(parseJsonObject(bytes), 'event', MARKER);
    const input = asCount(pick(usage, 'totalInputTokens'));
    const output = asCount(pick(usage, 'totalOutputTokens'));
    if (input !== undefined) this.inputTokens = input;
    if (output !== undefined) this.outputTokens = output;
    // details.total splits the cumulative counts into speech and text (priced differently).
    const speechIn = asCount(pick(usage, 'details', 'total', 'input', 'speechTokens'));
    const speechOut = asCount(pick(usage, 'details', 'total', 'output', 'speechTokens'));
    if (speechIn !== undefined) this.speechInputTokens = speechIn;
    if (speechOut !== undefined) this.speechOutputTokens = speechOut;
  }

  /** What an event weighs against the drain's byte bound. */
  size(event: unknown): number {
    const bytes = pick(event, 'chunk', 'bytes');
    return bytes instanceof Uint8Array ? bytes.byteLength : 64;
  }

  /** Output tokens the last usage event reported (the session is cumulative). */
  outputSeen(): number {
    return this.outputTokens ?? 0;
  }

  result(): ObservedUsage | undefined {
    if (this.inputTokens === undefined && this.outputTokens === undefined) return undefined;
    return { usage: { inputTokens: this.inputTokens, outputTokens: this.outputTokens, speechInputTokens: this.speechInputTokens, speechOutputTokens: this.speechOutputTokens }, source: 'body' };
  }
}
