import { Buffer } from 'node:buffer';
import { EventStreamCodec, type Message } from '@smithy/core/event-streams';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const codec = new EventStreamCodec(
  (bytes: Uint8Array) => decoder.decode(bytes),
  (text: string) => encoder.encode(text),
);

/** Prelude (total and headers length) + prelude CRC + message CRC. */
const MIN_FRAME = 16;
/** Larger frames are not Bedrock's (its chunks are kilobytes): reading stops rather than buffer them. */
const MAX_FRAME = 16 * 1024 * 1024;

/** What one frame of an `application/vnd.amazon.eventstream` body says. */
export type StreamFrame =
  /** An event, shaped as the SDK hands it to callers: `{ metadata: {…} }`, `{ chunk: { bytes } }`. */
  | { readonly kind: 'event'; readonly event: unknown }
  /** An exception in the stream, named as the SDK names it (`ThrottlingException`). */
  | { readonly kind: 'exception'; readonly name: string };

function headerString(message: Message, name: string): string | undefined {
  const h = message.headers[name];
  return h?.type === 'string' ? h.value : undefined;
}

/** `throttlingException` → `ThrottlingException`, as the SDK names the error it throws. */
function exceptionName(type: string): string {
  return type.length === 0 ? 'Error' : (type[0]?.toUpperCase() ?? '') + type.slice(1, 64);
}

/** The SDK's shape of a decoded message; `undefined` for a message that is neither an event nor an exception. */
export function frameOf(message: Message): StreamFrame | undefined {
  const type = headerString(message, ':message-type');
  if (type === 'exception') return { kind: 'exception', name: exceptionName(headerString(message, ':exception-type') ?? '') };
  if (type === 'error') return { kind: 'exception', name: exceptionName(headerString(message, ':error-code') ?? '') };
  if (type !== 'event') return undefined;
  const eventType = headerString(message, ':event-type');
  if (eventType === undefined) return undefined;
  const body = message.body;
  if (eventType === 'chunk') {
    // InvokeModelWithResponseStream: the SDK decodes the base64 `bytes` into a Uint8Array.
    const bytes = (JSON.parse(decoder.decode(body)) as { bytes?: unknown } | null)?.bytes;
    return { kind: 'event', event: { chunk: { bytes: typeof bytes === 'string' ? new Uint8Array(Buffer.from(bytes, 'base64')) : undefined } } };
  }
  // The payload is parsed when a tracker reads it: a ConverseStream tracker reads `metadata` only,
  // so the text deltas in between are never parsed (half the cost of following a stream).
  let payload: unknown;
  let parsed = false;
  const event = {};
  Object.defineProperty(event, eventType, {
    enumerable: true,
    get: () => {
      if (!parsed) {
        parsed = true;
        payload = JSON.parse(decoder.decode(body));
      }
      return payload;
    },
  });
  return { kind: 'event', event };
}

/**
 * Splits a byte stream, chunked anyhow, into event-stream frames and decodes each with
 * smithy's codec (which checks both CRCs). Only an incomplete frame is kept between chunks.
 * After a frame that does not decode it stops (`broken`): the bytes still reach the caller,
 * only metering gives up on the rest of that stream.
 */
export class EventFrameReader {
  private pending: Uint8Array[] = [];
  private size = 0;
  broken = false;

  constructor(private readonly onFrame: (frame: StreamFrame) => void) {}

  push(chunk: Uint8Array): void {
    if (this.broken || chunk.byteLength === 0) return;
    this.pending.push(chunk);
    this.size += chunk.byteLength;
    for (;;) {
      if (this.size < 4) return;
      const total = this.peekLength();
      if (total < MIN_FRAME || total > MAX_FRAME) {
        this.stop();
        return;
      }
      if (this.size < total) return;
      const frame = this.take(total);
      let decoded: StreamFrame | undefined;
      try {
        decoded = frameOf(codec.decode(frame));
      } catch {
        this.stop();
        return;
      }
      if (decoded !== undefined) this.onFrame(decoded);
    }
  }

  private stop(): void {
    this.broken = true;
    this.pending = [];
    this.size = 0;
  }

  /** The frame's total length: the first four bytes, big-endian, which may span chunks. */
  private peekLength(): number {
    const first = this.pending[0];
    if (first !== undefined && first.byteLength >= 4) return new DataView(first.buffer, first.byteOffset, 4).getUint32(0);
    return new DataView(this.take(4, true).buffer).getUint32(0);
  }

  /** The next `n` bytes (removed unless `peek`); a view into the chunk when it holds them all. */
  private take(n: number, peek = false): Uint8Array {
    const first = this.pending[0];
    if (first !== undefined && first.byteLength >= n) {
      if (peek) return first.slice(0, n);
      if (first.byteLength === n) this.pending.shift();
      else this.pending[0] = first.subarray(n);
      this.size -= n;
      return first.subarray(0, n);
    }
    const out = new Uint8Array(n);
    let filled = 0;
    let i = 0;
    while (filled < n) {
      const part = this.pending[i];
      if (part === undefined) break;
      const used = Math.min(part.byteLength, n - filled);
      out.set(part.subarray(0, used), filled);
      filled += used;
      if (!peek) {
        if (used === part.byteLength) i++;
        else this.pending[i] = part.subarray(used);
      } else i++;
    }
    if (!peek) {
      this.pending.splice(0, i);
      this.size -= n;
    }
    return out;
  }
}
