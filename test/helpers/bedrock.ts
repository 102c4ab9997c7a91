import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Pluggable } from '@smithy/types';
import { http, HttpResponse, type DefaultBodyType, type HttpResponseResolver } from 'msw';
import { setupServer, type SetupServerApi } from 'msw/node';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { encodeEventStream, type EventStreamMessage } from '../../src/testing/index.js';
import type { UsageRecord } from '../../src/index.js';

export const REGION = 'us-east-1';
export const ENDPOINT = `https://bedrock-runtime.${REGION}.amazonaws.com`;

/** A real BedrockRuntimeClient over HTTP/1.1 (msw cannot see the default HTTP/2 handler). */
export function makeClient(
  plugin?: Pluggable<never, never> | { applyToStack: (stack: never) => void },
  options: { maxAttempts?: number } = {},
): BedrockRuntimeClient {
  const client = new BedrockRuntimeClient({
    region: REGION,
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
    requestHandler: new NodeHttpHandler(),
    maxAttempts: options.maxAttempts ?? 3,
  });
  if (plugin !== undefined) client.middlewareStack.use(plugin as Parameters<typeof client.middlewareStack.use>[0]);
  return client;
}

/** An msw server for a test file; `server.use(...)` adds handlers per test. */
export function mockBedrock(): SetupServerApi {
  return setupServer();
}

/** An msw server listening for the whole test file, its handlers reset after each test. */
export function useMockBedrock(): SetupServerApi {
  const server = setupServer();
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterEach(() => server.resetHandlers());
  afterAll(() => server.close());
  return server;
}

type Action = 'converse' | 'converse-stream' | 'invoke' | 'invoke-with-response-stream' | 'count-tokens';

/** A handler for one Bedrock Runtime action on any model id. */
type Resolver = HttpResponseResolver<{ modelId: string }, DefaultBodyType, DefaultBodyType>; // eslint-disable-line @typescript-eslint/no-unnecessary-type-arguments -- msw needs the explicit response body type

export function on(action: Action, resolver: Resolver) {
  return http.post(`${ENDPOINT}/model/:modelId/${action}`, resolver);
}

/** A JSON response with optional extra headers. */
export function json(body: unknown, headers: Record<string, string> = {}, status = 200): HttpResponse<string> {
  return new HttpResponse(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', 'x-amzn-requestid': 'req-123', ...headers },
  });
}

/** Bedrock's error shape: status, `x-amzn-errortype`, `{ message }`. */
export function awsError(status: number, type: string, message = 'error'): HttpResponse<string> {
  return new HttpResponse(JSON.stringify({ message }), {
    status,
    headers: {
      'content-type': 'application/json',
      'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
      'x-amzn-requestid': 'req-err',
    },
  });
}

/** An event-stream response from encoded messages. */
export function eventStream(messages: readonly EventStreamMessage[]): HttpResponse<ArrayBuffer> {
  const body = encodeEventStream(messages);
  return new HttpResponse(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer, {
    status: 200,
    headers: { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': 'req-stream' },
  });
}

/** An event-stream response whose connection breaks after the given messages. */
export function brokenEventStream(messages: readonly EventStreamMessage[]): HttpResponse<ReadableStream<Uint8Array>> {
  const body = encodeEventStream(messages);
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(body);
      setTimeout(() => controller.error(new Error('socket hang up')), 5);
    },
  });
  return new HttpResponse(stream, {
    status: 200,
    headers: { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': 'req-broken' },
  });
}

/** Collects records emitted to onUsage. */
export function recorder(): { records: UsageRecord[]; onUsage: (r: UsageRecord) => void } {
  const records: UsageRecord[] = [];
  return { records, onUsage: (r) => records.push(r) };
}

/** Text encoder helper for InvokeModel bodies. */
export function jsonBody(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

/** Decodes an InvokeModel stream chunk. */
export function decodeChunk(bytes: Uint8Array | undefined): unknown {
  return JSON.parse(new TextDecoder().decode(bytes));
}

/** Waits until the event loop has run pending I/O and timers. */
export function tick(ms = 0): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Token counts a Converse reply reports (`totalTokens` is derived). */
export interface ReplyUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens?: number;
  cacheWriteInputTokens?: number;
}

/** A Converse response with this usage (`null` for a response without one) and assistant text. */
export function converseReply(usage: ReplyUsage | null = { inputTokens: 1, outputTokens: 1 }, text = 'x', extra: Record<string, unknown> = {}): HttpResponse<string> {
  const total = usage === null ? 0 : usage.inputTokens + usage.outputTokens + (usage.cacheReadInputTokens ?? 0) + (usage.cacheWriteInputTokens ?? 0);
  return json({
    output: { message: { role: 'assistant', content: text === '' ? [] : [{ text }] } },
    stopReason: 'end_turn',
    ...(usage === null ? {} : { usage: { ...usage, totalTokens: total } }),
    ...extra,
  });
}

/** A Converse input with one user message. */
export function say(text = 'hello', modelId = 'amazon.nova-micro-v1:0', maxTokens?: number) {
  return {
    modelId,
    messages: [{ role: 'user' as const, content: [{ text }] }],
    ...(maxTokens === undefined ? {} : { inferenceConfig: { maxTokens } }),
  };
}

/** Reads a stream to its end, or stops after `limit` events as a `break` would; returns the events read. */
export async function drain<T>(stream: AsyncIterable<T> | undefined, limit = Number.POSITIVE_INFINITY): Promise<T[]> {
  const events: T[] = [];
  if (stream === undefined) return events;
  for await (const event of stream) {
    events.push(event);
    if (events.length >= limit) break;
  }
  return events;
}
