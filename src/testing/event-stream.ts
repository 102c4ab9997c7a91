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
