/**
 * A response that reports an output count nobody can believe (past the request's own cap, or
 * past MAX_PLAUSIBLE_TOKENS) from a broken or lying proxy: the count is dropped and reported,
 * and the call is charged a safe estimate instead: the request's output cap when it set one
 * (Bedrock never generates past it), else an estimate from the output actually returned. Never 0
 * (output was free: a budget could be walked past), never the absurd count itself.
 */
import { ConverseCommand, ConverseStreamCommand, InvokeModelCommand, InvokeModelWithResponseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bedrockFinOps, isBudgetExceededError, type BedrockFinOpsOptions, type UsageRecord } from '../../src/index.js';
import { converseStreamEvent, invokeStreamChunk, type EventStreamMessage } from '../../src/testing/index.js';
import { converseReply, drain, eventStream, json, jsonBody, makeClient, mockBedrock, on, say, tick } from '../helpers/bedrock.js';

const server = mockBedrock();
const warnings: string[] = [];
const logger: DiagLogger = { error: () => undefined, warn: (m) => warnings.push(m), info: () => undefined, debug: () => undefined, verbose: () => undefined };
beforeAll(() => {
  server.listen({ onUnhandledRequest: 'error' });
  diag.setLogger(logger, DiagLogLevel.WARN);
});
afterEach(() => {
  server.resetHandlers();
  warnings.length = 0;
});
afterAll(() => {
  server.close();
  diag.disable();
});

const HAIKU = 'us.anthropic.claude-3-5-haiku-20241022-v1:0'; // $0.80 / $4 per million
const per = (tokens: number, usdPerMillion: number) => (tokens * usdPerMillion) / 1e6;
const ESTIMATE = 500;

function setup(options: BedrockFinOpsOptions = {}) {
  const records: UsageRecord[] = [];
  const finops = bedrockFinOps({ estimator: () => ESTIMATE, budgets: [{ name: 'b', limit: { tokens: 1e9 }, window: 'day' }], ...options, onUsage: (r) => records.push(r) });
  const budget = async () => {
    const [status] = await finops.budgets.status();
    return { used: status!.used.tokens, reserved: status!.reserved.tokens };
  };
  return { finops, client: makeClient(finops, { maxAttempts: 1 }), records, budget };
}

const until = async (done: () => boolean) => {
  for (let i = 0; i < 200 && !done(); i++) await tick(5);
};

const notBelieved = (field: string) => warnings.filter((w) => w.includes(field) && w.includes('not believed'));

describe('unary calls: an implausible output count is replaced by a safe estimate, never 0', () => {
  it('Converse past its maxTokens cap: charged the cap (100), the reported input kept, usageSource estimate, warned', async () => {
    server.use(on('converse', () => converseReply({ inputTokens: 200, outputTokens: 50_000 })));
    const { client, records, budget } = setup();
    await client.send(new ConverseCommand(say('hi', HAIKU, 100)));
    // Before: outputTokens 0 (the dropped count charged as nothing), 200 tokens used.
    expect(records[0]).toMatchObject({ outcome: 'success', usageSource: 'estimate', inputTokens: 200, outputTokens: 100, maxTokens: 100 });
    expect(records[0]!.costUsd).toBeCloseTo(per(200, 0.8) + per(100, 4), 12);
    expect(await budget()).toEqual({ used: 300, reserved: 0 });
    expect(notBelieved('outputTokens')).toHaveLength(1);
  });

  it('Converse without a cap, past MAX_PLAUSIBLE_TOKENS: charged an estimate from the text returned (700 characters → 200 tokens)', async () => {
    server.use(on('converse', () => converseReply({ inputTokens: 200, outputTokens: 20_000_000 }, 'x'.repeat(700))));
    const { client, records, budget } = setup();
    await client.send(new ConverseCommand(say('hi', HAIKU)));
    expect(records[0]).toMatchObject({ usageSource: 'estimate', inputTokens: 200, outputTokens: 200 });
    expect(await budget()).toEqual({ used: 400, reserved: 0 });
  });

  it('Converse without a cap: tool-use input and reasoning text returned count as output too', async () => {
    const content = [{ reasoningContent: { reasoningText: { text: 'r'.repeat(70) } } }, { text: 't'.repeat(70) }, { toolUse: { toolUseId: 'a', name: 'f', input: { q: 'q'.repeat(60) } } }];
    server.use(on('converse', () => json({ output: { message: { role: 'assistant', content } }, stopReason: 'tool_use', usage: { inputTokens: 10, outputTokens: 1e12, totalTokens: 1e12 + 10 } })));
    const { client, records } = setup();
    await client.send(new ConverseCommand(say('hi', HAIKU)));
    // 70 + 70 characters of text, the tool input as JSON ({"q":"…"}, 68 characters): 208 / 3.5 → 60.
    expect(records[0]).toMatchObject({ usageSource: 'estimate', inputTokens: 10, outputTokens: 60 });
  });

  it('Converse with both sides implausible: the admission’s input estimate and the cap', async () => {
    server.use(on('converse', () => converseReply({ inputTokens: 1e12, outputTokens: 1e12 })));
    const { client, records, budget } = setup();
    await client.send(new ConverseCommand(say('hi', HAIKU, 50)));
    expect(records[0]).toMatchObject({ usageSource: 'estimate', inputTokens: ESTIMATE, outputTokens: 50 });
    expect(await budget()).toEqual({ used: ESTIMATE + 50, reserved: 0 });
  });

  it('InvokeModel whose output header is past max_tokens: charged max_tokens (300)', async () => {
    server.use(on('invoke', () => json({ content: [{ type: 'text', text: 'ok' }] }, { 'x-amzn-bedrock-input-token-count': '1000', 'x-amzn-bedrock-output-token-count': '99999999' })));
    const { client, records, budget } = setup();
    await client.send(new InvokeModelCommand({ modelId: HAIKU, body: jsonBody({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 300, messages: [] }) }));
    // Before: 1,000 in / 0 out.
    expect(records[0]).toMatchObject({ usageSource: 'estimate', inputTokens: 1_000, outputTokens: 300 });
    expect(await budget()).toEqual({ used: 1_300, reserved: 0 });
  });

  it('InvokeModel without a cap, past MAX_PLAUSIBLE_TOKENS: charged an estimate from the body returned', async () => {
    const body = { content: [{ type: 'text', text: 'y'.repeat(3_400) }] };
    const length = JSON.stringify(body).length;
    server.use(on('invoke', () => json(body, { 'x-amzn-bedrock-input-token-count': '40', 'x-amzn-bedrock-output-token-count': '1000000000' })));
    const { client, records } = setup();
    await client.send(new InvokeModelCommand({ modelId: HAIKU, body: jsonBody({ anthropic_version: 'bedrock-2023-05-31', messages: [] }) }));
    expect(records[0]).toMatchObject({ usageSource: 'estimate', inputTokens: 40, outputTokens: Math.ceil(length / 3.5) });
    expect(records[0]!.outputTokens).toBeGreaterThan(970);
  });

  it('a proxy reporting 1e9 output tokens on every call cannot walk past an output budget', async () => {
    server.use(on('converse', () => converseReply({ inputTokens: 10, outputTokens: 1e9 })));
    const { client, records } = setup({ budgets: [{ name: 'out', limit: { outputTokens: 1_000 }, window: 'day' }] });
    let admitted = 0;
    for (let i = 0; i < 20; i++) {
      try {
        await client.send(new ConverseCommand(say('x', HAIKU, 200)));
        admitted++;
      } catch (e) {
        if (!isBudgetExceededError(e)) throw e;
      }
    }
    // 200 charged a call: five fit under 1,000. Before: every call charged 0 output, all 20 admitted.
    expect(admitted).toBe(5);
    expect(records.map((r) => r.outputTokens)).toEqual([200, 200, 200, 200, 200]);
  });
});

/** A ConverseStream: `deltas` text deltas of 7 characters, then messageStop and the metadata event. */
function converseStream(usage: { inputTokens: number; outputTokens: number }, deltas = 5): EventStreamMessage[] {
  return [
    converseStreamEvent('messageStart', { role: 'assistant' }),
    ...Array.from({ length: deltas }, () => converseStreamEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'seven c' } })),
    converseStreamEvent('contentBlockStop', { contentBlockIndex: 0 }),
    converseStreamEvent('messageStop', { stopReason: 'end_turn' }),
    converseStreamEvent('metadata', { usage: { ...usage, totalTokens: usage.inputTokens + usage.outputTokens }, metrics: { latencyMs: 5 } }),
  ];
}

/** An Anthropic InvokeModelWithResponseStream whose own counts and invocation metrics both report `output`. */
function invokeStream(output: number): EventStreamMessage[] {
  return [
    { type: 'message_start', message: { usage: { input_tokens: 70, output_tokens: 1 } } },
    ...Array.from({ length: 4 }, () => ({ type: 'content_block_delta', delta: { type: 'text_delta', text: 'abc' } })),
    { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: output } },
    { type: 'message_stop', 'amazon-bedrock-invocationMetrics': { inputTokenCount: 70, outputTokenCount: output, invocationLatency: 9, firstByteLatency: 3 } },
  ].map(invokeStreamChunk);
}

describe('streams: the same rule (the cap when known, else the output seen), never the absurd count', () => {
  it('ConverseStream past its cap: charged the cap (100), not the 10 tokens its deltas showed', async () => {
    server.use(on('converse-stream', () => eventStream(converseStream({ inputTokens: 200, outputTokens: 50_000 }))));
    const { client, records, budget } = setup();
    const out = await client.send(new ConverseStreamCommand(say('hi', HAIKU, 100)));
    await drain(out.stream);
    await until(() => records.length > 0);
    // Before: 10 output tokens (5 deltas of 7 characters).
    expect(records[0]).toMatchObject({ outcome: 'success', usageSource: 'estimate', inputTokens: 200, outputTokens: 100 });
    expect(await budget()).toEqual({ used: 300, reserved: 0 });
  });

  it('ConverseStream without a cap, past MAX_PLAUSIBLE_TOKENS: charged the output its deltas showed (35 characters → 10)', async () => {
    server.use(on('converse-stream', () => eventStream(converseStream({ inputTokens: 200, outputTokens: 1e12 }))));
    const { client, records } = setup();
    const out = await client.send(new ConverseStreamCommand(say('hi', HAIKU)));
    await drain(out.stream);
    await until(() => records.length > 0);
    expect(records[0]).toMatchObject({ usageSource: 'estimate', inputTokens: 200, outputTokens: 10 });
  });

  it('InvokeModelWithResponseStream whose metrics and own counts both say 1e12 output: charged max_tokens (300)', async () => {
    server.use(on('invoke-with-response-stream', () => eventStream(invokeStream(1e12))));
    const { client, records, budget } = setup();
    const out = await client.send(new InvokeModelWithResponseStreamCommand({ modelId: HAIKU, body: jsonBody({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 300, messages: [] }) }));
    await drain(out.body);
    await until(() => records.length > 0);
    expect(records[0]).toMatchObject({ usageSource: 'estimate', inputTokens: 70, outputTokens: 300 });
    expect(await budget()).toEqual({ used: 370, reserved: 0 });
  });

  it('InvokeModelWithResponseStream without a cap, both counts 1e12: charged one token per chunk (7), never 1e12', async () => {
    server.use(on('invoke-with-response-stream', () => eventStream(invokeStream(1e12))));
    const { client, records, budget } = setup();
    const out = await client.send(new InvokeModelWithResponseStreamCommand({ modelId: HAIKU, body: jsonBody({ anthropic_version: 'bedrock-2023-05-31', messages: [] }) }));
    await drain(out.body);
    await until(() => records.length > 0);
    // Before: outputTokens 1e12 (the stream's own count, as implausible as the dropped one, was the estimate).
    expect(records[0]).toMatchObject({ usageSource: 'estimate', inputTokens: 70, outputTokens: 7 });
    expect(await budget()).toEqual({ used: 77, reserved: 0 });
  });

  it('a plausible stream is unchanged: its billed usage, not an estimate', async () => {
    server.use(on('invoke-with-response-stream', () => eventStream(invokeStream(250))));
    const { client, records } = setup();
    const out = await client.send(new InvokeModelWithResponseStreamCommand({ modelId: HAIKU, body: jsonBody({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 300, messages: [] }) }));
    await drain(out.body);
    await until(() => records.length > 0);
    expect(records[0]).toMatchObject({ usageSource: 'invocation-metrics', inputTokens: 70, outputTokens: 250 });
    expect(notBelieved('outputTokens')).toHaveLength(0);
  });
});

describe('a Converse answer without an output count (a proxy that stripped it) is charged what its text shows, never 0', () => {
  it('usage without outputTokens: the reported input kept, output estimated from the text (700 characters → 200), usageSource estimate', async () => {
    server.use(on('converse', () => json({ output: { message: { role: 'assistant', content: [{ text: 'x'.repeat(700) }] } }, stopReason: 'end_turn', usage: { inputTokens: 40 } })));
    const { client, records, budget } = setup();
    await client.send(new ConverseCommand(say('hi', HAIKU, 1000)));
    // Before: usageSource 'usage', outputTokens 0 (the missing count charged as nothing), 40 tokens used.
    expect(records[0]).toMatchObject({ outcome: 'success', usageSource: 'estimate', inputTokens: 40, outputTokens: 200 });
    expect(await budget()).toEqual({ used: 240, reserved: 0 });
  });

  it('no usage at all: the admission’s input estimate (500) and the text’s estimate (70 characters → 20), warned once', async () => {
    server.use(on('converse', () => converseReply(null, 'y'.repeat(70))));
    const { client, records, budget } = setup();
    await client.send(new ConverseCommand(say('hi', HAIKU)));
    await client.send(new ConverseCommand(say('hi', HAIKU)));
    // Before: outputTokens 0 on both.
    expect(records.map((r) => [r.usageSource, r.inputTokens, r.outputTokens])).toEqual([
      ['estimate', ESTIMATE, 20],
      ['estimate', ESTIMATE, 20],
    ]);
    expect(await budget()).toEqual({ used: 2 * (ESTIMATE + 20), reserved: 0 });
    expect(warnings.filter((w) => w.includes('returned no usage'))).toHaveLength(1);
  });

  it('an honest 0 output count stands: usageSource usage, 0 output, nothing estimated', async () => {
    server.use(on('converse', () => converseReply({ inputTokens: 30, outputTokens: 0 }, '')));
    const { client, records, budget } = setup();
    await client.send(new ConverseCommand(say('hi', HAIKU)));
    expect(records[0]).toMatchObject({ usageSource: 'usage', inputTokens: 30, outputTokens: 0 });
    expect(await budget()).toEqual({ used: 30, reserved: 0 });
  });
});
