import { Readable } from 'node:stream';
import { HttpResponse } from '@smithy/core/transport';
import type { HttpHandlerOptions, HttpRequest, HttpResponse as HttpResponseType, RequestHandler } from '@smithy/types';
import { converseStreamEvent, encodeEventStream, type EventStreamMessage } from '../src/testing/index.js';

/** A response served as-is for every request: the cheapest possible in-process "Bedrock". */
export interface Canned {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
}

/** A request handler answering every request with the same bytes, so the benchmark measures the SDK and the plugin, not a server. */
export function cannedHandler(canned: Canned): RequestHandler<HttpRequest, HttpResponseType, HttpHandlerOptions> {
  return {
    handle: () =>
      Promise.resolve({
        response: new HttpResponse({ statusCode: canned.status, headers: { ...canned.headers }, body: Readable.from([Buffer.from(canned.body)]) }),
      }),
  };
}

const json = (value: unknown, headers: Record<string, string> = {}): Canned => ({
  status: 200,
  headers: { 'content-type': 'application/json', 'x-amzn-requestid': 'bench', ...headers },
  body: new TextEncoder().encode(JSON.stringify(value)),
});

export const CONVERSE = json({
  output: { message: { role: 'assistant', content: [{ text: 'A short answer from the model.' }] } },
  stopReason: 'end_turn',
  usage: { inputTokens: 120, outputTokens: 48, totalTokens: 168 },
  metrics: { latencyMs: 300 },
});

export const INVOKE = json(
  { id: 'msg', type: 'message', role: 'assistant', content: [{ type: 'text', text: 'A short answer.' }], stop_reason: 'end_turn', usage: { input_tokens: 120, output_tokens: 48 } },
  { 'x-amzn-bedrock-input-token-count': '120', 'x-amzn-bedrock-output-token-count': '48', 'x-amzn-bedrock-invocation-latency': '300' },
);

export function converseStream(events: number): Canned {
  const messages: EventStreamMessage[] = [converseStreamEvent('messageStart', { role: 'assistant' })];
  for (let i = 0; i < events - 4; i++) messages.push(converseStreamEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: `tok${i} ` } }));
  messages.push(converseStreamEvent('contentBlockStop', { contentBlockIndex: 0 }));
  messages.push(converseStreamEvent('messageStop', { stopReason: 'end_turn' }));
  messages.push(converseStreamEvent('metadata', { usage: { inputTokens: 120, outputTokens: events, totalTokens: 120 + events }, metrics: { latencyMs: 300 } }));
  return { status: 200, headers: { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': 'bench' }, body: encodeEventStream(messages) };
}
