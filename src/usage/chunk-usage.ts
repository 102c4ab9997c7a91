import { extractorsFor } from './families/index.js';
import { usageFromInvocationMetrics } from './invocation-metrics.js';
import { parseJsonObject, pick, type JsonObject } from './json.js';
import { hasAnyCount, MAX_PLAUSIBLE_TOKENS, mergeUsage, type ObservedUsage, type PartialUsage } from './token-usage.js';

const HEAD = 2;
const TAIL = 4;

/**
 * Follows the `chunk` events of an InvokeModelWithResponseStream without parsing them as they
 * pass: it keeps references to the first and last few chunks and reads usage from those once,
 * when the stream ends. Bedrock puts `amazon-bedrock-invocationMetrics` in the final chunk; the
 * families' own counts sit in the first (input) and last (cumulative output) chunks.
 */
export class ChunkUsageTracker {
  private readonly head: Uint8Array[] = [];
  private readonly tail: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(TAIL);
  private count = 0;

  /** Called for every stream event; ignores anything that is not a `chunk` with bytes. */
  add(event: unknown): void {
    const bytes = pick(event, 'chunk', 'bytes');
    if (!(bytes instanceof Uint8Array)) return;
    if (this.count < HEAD) this.head.push(bytes);
    else this.tail[(this.count - HEAD) % TAIL] = bytes;
    this.count++;
  }

  /** The kept chunks, decoded, in stream order. */
  private chunks(): JsonObject[] {
    const out: JsonObject[] = [];
    const push = (b: Uint8Array | undefined): void => {
      const json = parseJsonObject(b);
      if (json !== undefined) out.push(json);
    };
    for (const b of this.head) push(b);
    const tailCount = Math.max(0, this.count - HEAD);
    const kept = Math.min(tailCount, TAIL);
    for (let i = tailCount - kept; i < tailCount; i++) push(this.tail[i % TAIL]);
    return out;
  }

  /** The family's own cumulative counts over the kept chunks, if its extractor finds any. */
  private familyUsage(chunks: readonly JsonObject[], provider: string | undefined): PartialUsage | undefined {
    for (const extractor of extractorsFor(provider)) {
      const acc: PartialUsage = {};
      for (const chunk of chunks) mergeUsage(acc, extractor.streamChunk(chunk));
      if (hasAnyCount(acc)) return acc;
    }
    return undefined;
  }

  /**
   * Usage seen so far: Bedrock's invocation metrics when present (with the family's split of
   * cache writes by TTL, which the metrics lack), else the family's stream fields.
   */
  result(provider: string | undefined): ObservedUsage | undefined {
    if (this.count === 0) return undefined;
    const chunks = this.chunks();
    for (let i = chunks.length - 1; i >= 0; i--) {
      const billed = usageFromInvocationMetrics(chunks[i]);
      if (billed === undefined) continue;
      if ((billed.cacheWriteInputTokens ?? 0) > 0) {
        const oneHour = this.familyUsage(chunks, provider)?.cacheWrite1hInputTokens;
        if (oneHour !== undefined) return { usage: { ...billed, cacheWrite1hInputTokens: oneHour }, source: 'invocation-metrics' };
      }
      return { usage: billed, source: 'invocation-metrics' };
    }
    const family = this.familyUsage(chunks, provider);
    return family === undefined ? undefined : { usage: family, source: 'body' };
  }

  /** What an event weighs against the drain's byte bound. */
  size(event: unknown): number {
    const bytes = pick(event, 'chunk', 'bytes');
    return bytes instanceof Uint8Array ? bytes.byteLength : 64;
  }

  /**
   * Output tokens seen so far: the family's cumulative count when it reports a plausible one, else
   * one per chunk (a lower bound). A count past `MAX_PLAUSIBLE_TOKENS` is no more believed here
   * than in the usage it was dropped from.
   */
  outputSeen(provider: string | undefined): number {
    const reported = this.familyUsage(this.chunks(), provider)?.outputTokens;
    return reported !== undefined && reported <= MAX_PLAUSIBLE_TOKENS ? reported : this.count;
  }
}
