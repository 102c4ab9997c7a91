import { Buffer } from 'node:buffer';
import { EventStreamCodec, type MessageHeaders } from '@smithy/core/event-streams';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const codec = new EventStreamCodec(
  (bytes: Uint8Array) => decoder.decode(bytes),
  (text: string) => encoder.encode(text),
);

/** One message of an `application/vnd.amazon.eventstream` body. */
export type EventStreamMessage =
  | { readonly kind: 'event'; readonly eventType: string; readonly payload: unknown }
  | { readonly kind: 'exception'; readonly exceptionType: string; readonly message: string };

function stringHeader(value: string): MessageHeaders[string] {
  return { type: 'string', value };
}

/** Encodes one message with the headers Bedrock sends (`:event-type`/`:exception-type`, `:message-type`, `:content-type`). */
export function encodeEventStreamMessage(message: EventStreamMessage): Uint8Array {
  if (message.kind === 'event') {
    return codec.encode({
      headers: {
        ':event-type': stringHeader(message.eventType),
        ':content-type': stringHeader('application/json'),
        ':message-type': stringHeader('event'),
      },
      body: encoder.encode(JSON.stringify(message.payload)),
    });
  }
  return codec.encode({
    headers: {
      ':exception-type': stringHeader(message.exceptionType),
      ':content-type': stringHeader('application/json'),
      ':message-type': stringHeader('exception'),
    },
    body: encoder.encode(JSON.stringify({ message: message.message })),
  });
}

/** A ConverseStream event, e.g. `converseStreamEvent('metadata', { usage, metrics })`. */
export function converseStreamEvent(eventType: string, payload: unknown): EventStreamMessage {
  return { kind: 'event', eventType, payload };
}

/** An InvokeModelWithResponseStream `chunk` event: the model's JSON, base64-encoded in `bytes`. */
export function invokeStreamChunk(json: unknown): EventStreamMessage {
  return { kind: 'event', eventType: 'chunk', payload: { bytes: Buffer.from(JSON.stringify(json)).toString('base64') } };
}

/** An exception message inside a stream, e.g. `streamException('throttlingException', 'Too many tokens')`. */
export function streamException(exceptionType: string, message: string): EventStreamMessage {
  return { kind: 'exception', exceptionType, message };
}

/** Encodes a whole stream body. */
export function encodeEventStream(messages: readonly EventStreamMessage[]): Uint8Array {
  const parts = messages.map(encodeEventStreamMessage);
  return Buffer.concat(parts);
}

/** One decoded event-stream message: its headers (as text: binary as hex, timestamps as ISO) and raw body. */
export interface DecodedEventStreamMessage {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

/** Smallest message: the 12-byte prelude and the 4-byte message CRC. */
const MIN_MESSAGE_BYTES = 16;

/** Decodes one whole message (throws on a bad checksum). */
export function decodeEventStreamMessage(bytes: Uint8Array): DecodedEventStreamMessage {
  const message = codec.decode(bytes);
  const headers: Record<string, string> = {};
  for (const [name, header] of Object.entries(message.headers)) {
    const { value } = header;
    headers[name] = value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value instanceof Date ? value.toISOString() : String(value);
  }
  return { headers, body: message.body };
}

/**
 * Splits a byte stream (chunks cut anywhere) into whole event-stream messages, as they arrive:
 * for a server reading a client's event stream, e.g. InvokeModelWithBidirectionalStream input.
 */
export async function* decodeEventStream(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<DecodedEventStreamMessage> {
  let buffer = Buffer.alloc(0);
  for await (const chunk of chunks) {
    buffer = Buffer.concat([buffer, chunk]);
    while (buffer.length >= 4) {
      const total = buffer.readUInt32BE(0);
      if (total < MIN_MESSAGE_BYTES) throw new Error(`event stream: a message of ${total} bytes is malformed`);
      if (buffer.length < total) break;
      yield decodeEventStreamMessage(buffer.subarray(0, total));
      buffer = buffer.subarray(total);
    }
  }
}
