import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { HttpResponse } from 'msw';
import type { SetupServerApi } from 'msw/node';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterAll, beforeAll, expect } from 'vitest';
import { bedrockFinOps, type BedrockFinOps, type BedrockFinOpsOptions, type BudgetEvent, type UsageRecord } from '../../src/index.js';
import { converseStreamEvent, encodeEventStream, type EventStreamMessage } from '../../src/testing/index.js';
import { converseReply, makeClient, on, tick, type ReplyUsage } from './bedrock.js';

/** Claude 3.5 Haiku (us. profile): $0.80 in, $4 out, $1 cache write, $0.08 cache read per million. */
export const HAIKU = 'us.anthropic.claude-3-5-haiku-20241022-v1:0';

/** USD for `tokens` at `usdPerMillion`. */
export const per = (tokens: number, usdPerMillion: number): number => (tokens * usdPerMillion) / 1e6;

/** A plugin with every record and budget event collected, on a real client that does not retry. */
export function hostileSetup(options: BedrockFinOpsOptions = {}) {
  const records: UsageRecord[] = [];
  const events: BudgetEvent[] = [];
  const finops = bedrockFinOps({ onUsage: (r) => records.push(r), onBudgetEvent: (e) => events.push(e), ...options });
  return { finops, client: makeClient(finops, { maxAttempts: 1 }), records, events };
}

/** ConverseStream frames: deltas, messageStop, then the metadata event with the usage (last, as Bedrock sends it). */
export function converseFrames(usage: { inputTokens: number; outputTokens: number }, deltas = 3, metadata: Record<string, unknown> = {}): EventStreamMessage[] {
  return [
    converseStreamEvent('messageStart', { role: 'assistant' }),
    ...Array.from({ length: deltas }, () => converseStreamEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'seven c' } })),
    converseStreamEvent('contentBlockStop', { contentBlockIndex: 0 }),
    converseStreamEvent('messageStop', { stopReason: 'end_turn' }),
    converseStreamEvent('metadata', { usage: { ...usage, totalTokens: usage.inputTokens + usage.outputTokens }, metrics: { latencyMs: 5 }, ...metadata }),
  ];
}

/** An event-stream response that sends `first` frames at once and the rest after `laterMs`. */
export function slowTail(messages: readonly EventStreamMessage[], first: number, laterMs: number): HttpResponse<ReadableStream<Uint8Array>> {
  const head = encodeEventStream(messages.slice(0, first));
  const tail = encodeEventStream(messages.slice(first));
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(head);
      setTimeout(() => {
        controller.enqueue(tail);
        controller.close();
      }, laterMs);
    },
  });
  return new HttpResponse(stream, { headers: { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': 'req-slow' } });
}

/** Polls the event loop until `done()` holds (background drains and settlements), or gives up quietly. */
export async function settleSoon(done: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !done(); i++) await tick(5);
}

/** Asserts that every budget counter has exactly nothing reserved, in every unit. */
export async function expectNothingReserved(finops: BedrockFinOps): Promise<void> {
  for (const s of await finops.budgets.status()) expect([s.budget, s.key, s.reserved]).toEqual([s.budget, s.key, { tokens: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 }]);
}

/** The V8 garbage collector, exposed at run time. */
export function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Collects the process's unhandled rejections until `stop()` (Node's default ends the process on one). */
export function captureUnhandled(): { reasons: unknown[]; stop: () => void } {
  const reasons: unknown[] = [];
  const listener = (reason: unknown): void => {
    reasons.push(reason);
  };
  process.on('unhandledRejection', listener);
  return { reasons, stop: () => process.off('unhandledRejection', listener) };
}

/** Captures every OpenTelemetry `diag` message (warn and above) until `stop()`. */
export function captureDiag(): { messages: string[]; stop: () => void } {
  const messages: string[] = [];
  const logger: DiagLogger = {
    error: (m) => messages.push(m),
    warn: (m) => messages.push(m),
    info: () => undefined,
    debug: () => undefined,
    verbose: () => undefined,
  };
  diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  return { messages, stop: () => diag.disable() };
}

/** Answers every Converse with `usage` and counts the requests that reached "Bedrock". */
export function countConverse(server: SetupServerApi, usage: ReplyUsage = { inputTokens: 1, outputTokens: 1 }): { requests: number } {
  const seen = { requests: 0 };
  server.use(
    on('converse', () => {
      seen.requests++;
      return converseReply(usage);
    }),
  );
  return seen;
}

/** An OpenTelemetry context manager for the test file (baggage needs one). */
export function useOtelContext(): void {
  const manager = new AsyncLocalStorageContextManager();
  beforeAll(() => {
    context.setGlobalContextManager(manager.enable());
  });
  afterAll(() => {
    context.disable();
  });
}
