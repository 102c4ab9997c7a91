import { ConverseCommand, ConverseStreamCommand, InvokeModelCommand, InvokeModelWithResponseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { delay, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps, isBudgetExceededError, isUnpricedModelError, type BedrockFinOpsOptions, type BudgetEvent, type UsageRecord } from '../../src/index.js';
import { converseStreamEvent, encodeEventStream, invokeStreamChunk, type EventStreamMessage } from '../../src/testing/index.js';
import { converseReply, drain, eventStream, json, jsonBody, makeClient, on, say, tick, useMockBedrock } from '../helpers/bedrock.js';

const server = useMockBedrock();

const HAIKU = 'us.anthropic.claude-3-5-haiku-20241022-v1:0'; // $0.80 / $4 per million, cache write $1
const per = (tokens: number, usdPerMillion: number) => (tokens * usdPerMillion) / 1e6;

/** A ConverseStream answer: text deltas, messageStop, then the metadata event with the usage (last, as Bedrock sends it). */
function converseStream(usage: { inputTokens: number; outputTokens: number }, deltas = 5, extraMetadata: Record<string, unknown> = {}): EventStreamMessage[] {
  return [
    converseStreamEvent('messageStart', { role: 'assistant' }),
    ...Array.from({ length: deltas }, () => converseStreamEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'seven c' } })),
    converseStreamEvent('contentBlockStop', { contentBlockIndex: 0 }),
    converseStreamEvent('messageStop', { stopReason: 'end_turn' }),
    converseStreamEvent('metadata', { usage: { ...usage, totalTokens: usage.inputTokens + usage.outputTokens }, metrics: { latencyMs: 5 }, ...extraMetadata }),
  ];
}

/** The same stream, but the connection breaks after `after` messages (no usage ever comes). */
function brokenAfter(messages: readonly EventStreamMessage[], after: number): HttpResponse<ReadableStream<Uint8Array>> {
  const body = encodeEventStream(messages.slice(0, after));
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(body);
      setTimeout(() => controller.error(new Error('socket hang up')), 10);
    },
  });
  return new HttpResponse(stream, { headers: { 'content-type': 'application/vnd.amazon.eventstream' } });
}

function setup(options: BedrockFinOpsOptions = {}) {
  const records: UsageRecord[] = [];
  const events: BudgetEvent[] = [];
  const finops = bedrockFinOps({ ...options, onUsage: (r) => records.push(r), onBudgetEvent: (e) => events.push(e) });
  return { finops, client: makeClient(finops, { maxAttempts: 1 }), records, events };
}

const until = async (done: () => boolean) => {
  for (let i = 0; i < 200 && !done(); i++) await tick(5);
};

describe('streams the caller stops early still record what Bedrock billed', () => {
  it('a ConverseStream read until messageStop records the metadata usage that comes after it (20,000 in / 2,000 out)', async () => {
    server.use(on('converse-stream', () => eventStream(converseStream({ inputTokens: 20_000, outputTokens: 2_000 }))));
    const { client, records } = setup();
    const out = await client.send(new ConverseStreamCommand(say('hi', HAIKU)));
    for await (const event of out.stream!) if (event.messageStop !== undefined) break;
    await until(() => records.length > 0);
    expect(records).toHaveLength(1);
    // Charged: the whole generation, as Bedrock bills it. Recorded: abandoned, with billed usage.
    expect(records[0]).toMatchObject({ outcome: 'abandoned', usageSource: 'usage', inputTokens: 20_000, outputTokens: 2_000 });
    expect(records[0]!.costUsd).toBeCloseTo(per(20_000, 0.8) + per(2_000, 4), 12);
  });

  it('an InvokeModelWithResponseStream stopped after its first chunk records the final chunk’s invocation metrics', async () => {
    const chunks = [
      { type: 'message_start', message: { usage: { input_tokens: 900, output_tokens: 1 } } },
      ...Array.from({ length: 5 }, () => ({ type: 'content_block_delta', delta: { type: 'text_delta', text: 'abc' } })),
      { type: 'message_stop', 'amazon-bedrock-invocationMetrics': { inputTokenCount: 1_000, outputTokenCount: 300, invocationLatency: 9, firstByteLatency: 3 } },
    ];
    server.use(on('invoke-with-response-stream', () => eventStream(chunks.map(invokeStreamChunk))));
    const { client, records } = setup();
    const out = await client.send(new InvokeModelWithResponseStreamCommand({ modelId: HAIKU, body: jsonBody({ max_tokens: 300 }) }));
    await drain(out.body, 1);
    await until(() => records.length > 0);
    expect(records[0]).toMatchObject({ outcome: 'abandoned', usageSource: 'invocation-metrics', inputTokens: 1_000, outputTokens: 300 });
  });

  it('with the drain, a `break` after the first event admits exactly as many calls as reading to the end', async () => {
    const budgets = [{ name: 'five-k', limit: { tokens: 5_000 }, window: 'day' as const }];
    const admittedWhen = async (read: (stream: AsyncIterable<unknown>) => Promise<unknown>) => {
      const seen = { requests: 0 };
      server.use(
        on('converse-stream', () => {
          seen.requests++;
          return eventStream(converseStream({ inputTokens: 1_000, outputTokens: 500 }));
        }),
      );
      const { client, records } = setup({ budgets, estimator: () => 1_000 });
      let admitted = 0;
      for (let i = 0; i < 10; i++) {
        try {
          const out = await client.send(new ConverseStreamCommand(say('x', HAIKU, 500)));
          admitted++;
          await read(out.stream!);
          await until(() => records.length === admitted);
        } catch (e) {
          if (!isBudgetExceededError(e)) throw e;
        }
      }
      return { admitted, requests: seen.requests, records };
    };
    const toEnd = await admittedWhen((s) => drain(s));
    const stopped = await admittedWhen((s) => drain(s, 1));
    // 1,500 tokens a call (1,000 in + 500 out) under 5,000: three fit either way.
    expect(toEnd.admitted).toBe(3);
    expect(stopped.admitted).toBe(3);
    expect(stopped.requests).toBe(3);
    expect(stopped.records.map((r) => [r.outcome, r.inputTokens, r.outputTokens])).toEqual(Array.from({ length: 3 }, () => ['abandoned', 1_000, 500]));
  });

  it('with the drain turned off, a stopped stream charges the budget an estimate (input estimate + output seen), never 0', async () => {
    server.use(on('converse-stream', () => eventStream(converseStream({ inputTokens: 1_000, outputTokens: 500 }, 20))));
    const { client, records, finops } = setup({ drainAbandonedStreams: false, estimator: () => 1_000, budgets: [{ name: 'five-k', limit: { tokens: 5_000 }, window: 'day' }] });
    let admitted = 0;
    for (let i = 0; i < 10; i++) {
      try {
        const out = await client.send(new ConverseStreamCommand(say('x', HAIKU, 100)));
        admitted++;
        await drain(out.stream, 3);
      } catch (e) {
        if (!isBudgetExceededError(e)) throw e;
      }
    }
    // Each call: 1,000 input estimated, 2 deltas of 7 characters seen = 4 output tokens; 1,100 reserved.
    expect(records[0]).toMatchObject({ outcome: 'abandoned', usageSource: 'estimate', inputTokens: 1_000, outputTokens: 4 });
    expect(admitted).toBe(4);
    const [status] = await finops.budgets.status();
    expect(status!.used.tokens).toBe(4 * 1_004);
    expect(status!.reserved.tokens).toBe(0);
  });

  it('a stream whose connection breaks after the first event is charged an estimate with its error', async () => {
    server.use(on('converse-stream', () => brokenAfter(converseStream({ inputTokens: 1_000, outputTokens: 500 }, 5), 3)));
    const { client, records, finops } = setup({ estimator: () => 700, budgets: [{ name: 'b', limit: { tokens: 1e6 }, window: 'day' }] });
    const out = await client.send(new ConverseStreamCommand(say('x', HAIKU, 100)));
    await expect(drain(out.stream)).rejects.toBeDefined();
    expect(records[0]).toMatchObject({ outcome: 'error', usageSource: 'estimate', inputTokens: 700, outputTokens: 4 });
    const [status] = await finops.budgets.status();
    expect(status).toMatchObject({ used: { tokens: 704 }, reserved: { tokens: 0 } });
  });

  it('an AbortSignal fired mid-stream settles as abandoned with error AbortError, charged an estimate', async () => {
    server.use(
      on('converse-stream', () => {
        const body = encodeEventStream(converseStream({ inputTokens: 1_000, outputTokens: 500 }, 3).slice(0, 2));
        // The rest never comes: the caller aborts while waiting.
        const stream = new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(body) });
        return new HttpResponse(stream, { headers: { 'content-type': 'application/vnd.amazon.eventstream' } });
      }),
    );
    const { client, records, finops } = setup({ estimator: () => 800, budgets: [{ name: 'b', limit: { tokens: 1e6 }, window: 'day' }] });
    const controller = new AbortController();
    const out = await client.send(new ConverseStreamCommand(say('x', HAIKU, 100)), { abortSignal: controller.signal });
    const reading = drain(out.stream);
    await tick(20);
    controller.abort();
    // The caller sees what the SDK throws (the socket's "aborted"); the record knows it was the caller's signal.
    await expect(reading).rejects.toBeDefined();
    await until(() => records.length > 0);
    expect(records[0]).toMatchObject({ outcome: 'abandoned', error: 'AbortError', usageSource: 'estimate', inputTokens: 800 });
    expect((await finops.budgets.status())[0]).toMatchObject({ reserved: { tokens: 0 } });
    expect((await finops.budgets.status())[0]!.used.tokens).toBeGreaterThanOrEqual(800);
  });

  it('a Converse aborted before its response settles as abandoned, charged the input estimate', async () => {
    server.use(
      on('converse', async () => {
        await delay(2_000);
        return converseReply({ inputTokens: 10, outputTokens: 10 });
      }),
    );
    const { client, records } = setup({ estimator: () => 321, budgets: [{ name: 'b', limit: { tokens: 1e6 }, window: 'day' }] });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    await expect(client.send(new ConverseCommand(say('x', HAIKU, 100)), { abortSignal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(records[0]).toMatchObject({ outcome: 'abandoned', error: 'AbortError', usageSource: 'estimate', inputTokens: 321, outputTokens: 0 });
  });
});

describe('reserve at the price the call will pay', () => {
  it('a priority-tier call is reserved at the priority price: a cost budget is never passed, with exact estimates', async () => {
    // 10,000 in + 1,000 out on Haiku: $0.012 standard, $0.021 at priority (×1.75).
    server.use(on('converse', () => converseReply({ inputTokens: 10_000, outputTokens: 1_000 }, 'x', { serviceTier: { type: 'priority' } })));
    const { client, records } = setup({ estimator: () => 10_000, budgets: [{ name: 'usd', limit: { costUsd: 0.1 }, window: 'day' }] });
    let rejected = 0;
    for (let i = 0; i < 10; i++)
      await client.send(new ConverseCommand({ ...say('x', HAIKU, 1_000), serviceTier: { type: 'priority' } })).catch((e: unknown) => {
        if (isBudgetExceededError(e)) rejected++;
      });
    const spent = records.reduce((s, r) => s + r.costUsd!, 0);
    expect(records[0]!.costUsd).toBeCloseTo(1.75 * (per(10_000, 0.8) + per(1_000, 4)), 12);
    expect(records).toHaveLength(4); // 4 × $0.021 = $0.084; a fifth would pass $0.10
    expect(rejected).toBe(6);
    expect(spent).toBeLessThanOrEqual(0.1);
  });

  it('commits at the tier the response says served the call', async () => {
    server.use(on('converse', () => converseReply({ inputTokens: 1_000, outputTokens: 100 }, 'x', { serviceTier: { type: 'flex' } })));
    const { client, records } = setup();
    await client.send(new ConverseCommand({ ...say('x', HAIKU), serviceTier: { type: 'priority' } }));
    expect(records[0]).toMatchObject({ serviceTier: 'flex' });
    expect(records[0]!.costUsd).toBeCloseTo(0.5 * (per(1_000, 0.8) + per(100, 4)), 12);
  });

  it.each([
    ['optimized', 1, 5],
    ['standard', 0.8, 4],
  ])('a latency-optimized request served %s is priced at %s / %s per million', async (served, input, output) => {
    server.use(on('converse', () => converseReply({ inputTokens: 1_000, outputTokens: 100 }, 'x', { performanceConfig: { latency: served } })));
    const { client, records } = setup();
    await client.send(new ConverseCommand({ ...say('x', HAIKU), performanceConfig: { latency: 'optimized' } }));
    expect(records[0]).toMatchObject({ performanceLatency: served });
    expect(records[0]!.costUsd).toBeCloseTo(per(1_000, input) + per(100, output), 12);
  });
});

describe('a model without a price under a cost budget', () => {
  const UNKNOWN = 'acme.model-without-a-price-v1:0';

  it('is refused before sending by default, with an error naming the model and how to price it', async () => {
    const seen = { requests: 0 };
    server.use(
      on('converse', () => {
        seen.requests++;
        return converseReply();
      }),
    );
    const { client } = setup({ budgets: [{ name: 'usd', limit: { costUsd: 1 }, window: 'day' }] });
    const error = await client.send(new ConverseCommand(say('x', UNKNOWN))).catch((e: unknown) => e);
    expect(isUnpricedModelError(error)).toBe(true);
    expect((error as Error).message).toContain('pricing: { overrides: { "acme.model-without-a-price-v1:0"');
    expect(seen.requests).toBe(0);
  });

  it("is admitted and reported with unpricedModels: 'warn' (token limits still apply)", async () => {
    server.use(on('converse', () => converseReply({ inputTokens: 100, outputTokens: 10 })));
    const { client, records, events } = setup({ unpricedModels: 'warn', budgets: [{ name: 'usd', limit: { costUsd: 1, tokens: 1_000 }, window: 'day' }] });
    await client.send(new ConverseCommand(say('x', UNKNOWN, 10)));
    expect(records[0]).toMatchObject({ costUsd: undefined, inputTokens: 100 });
    expect(events.map((e) => [e.type, e.budget])).toEqual([['unpriced', 'usd']]);
  });

  it('does not matter to a budget without a cost limit', async () => {
    server.use(on('converse', () => converseReply()));
    const { client, records } = setup({ budgets: [{ name: 'tokens', limit: { tokens: 1_000 }, window: 'day' }] });
    await client.send(new ConverseCommand(say('x', UNKNOWN, 10)));
    expect(records).toHaveLength(1);
  });
});

describe('operations that produce no output tokens', () => {
  it('2,000-token embeddings fit a 10,000-token budget five times (no output is reserved for them)', async () => {
    server.use(on('invoke', () => json({ embedding: [0.1], inputTextTokenCount: 2_000 }, { 'x-amzn-bedrock-input-token-count': '2000', 'x-amzn-bedrock-output-token-count': '0' })));
    const { client, records } = setup({ estimator: () => 2_000, budgets: [{ name: 'ten-k', limit: { tokens: 10_000 }, window: 'day' }] });
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await client.send(new InvokeModelCommand({ modelId: 'amazon.titan-embed-text-v2:0', body: jsonBody({ inputText: 'x' }) })).then(() => 'ok', (e: unknown) => (isBudgetExceededError(e) ? 'refused' : 'other')));
    expect(results).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'refused']);
    expect(records.every((r) => r.outputTokens === 0)).toBe(true);
  });
});

describe('pricing fidelity', () => {
  it('prices one-hour cache writes on InvokeModelWithResponseStream at twice the input rate, as on InvokeModel', async () => {
    const usage = { input_tokens: 10, output_tokens: 1, cache_creation_input_tokens: 100_000, cache_read_input_tokens: 0, cache_creation: { ephemeral_1h_input_tokens: 100_000, ephemeral_5m_input_tokens: 0 } };
    server.use(
      on('invoke-with-response-stream', () =>
        eventStream(
          [
            { type: 'message_start', message: { usage } },
            { type: 'message_delta', usage: { output_tokens: 20 } },
            { type: 'message_stop', 'amazon-bedrock-invocationMetrics': { inputTokenCount: 10, outputTokenCount: 20, cacheWriteInputTokenCount: 100_000, cacheReadInputTokenCount: 0 } },
          ].map(invokeStreamChunk),
        ),
      ),
      on('invoke', () => json({ content: [], usage: { ...usage, output_tokens: 20 } }, { 'x-amzn-bedrock-input-token-count': '10', 'x-amzn-bedrock-output-token-count': '20', 'x-amzn-bedrock-cache-write-input-token-count': '100000' })),
    );
    const { client, records } = setup();
    await drain((await client.send(new InvokeModelWithResponseStreamCommand({ modelId: HAIKU, body: jsonBody({}) }))).body);
    await client.send(new InvokeModelCommand({ modelId: HAIKU, body: jsonBody({}) }));
    const expected = per(10, 0.8) + per(20, 4) + per(100_000, 2 * 0.8);
    expect(records.map((r) => r.cacheWrite1hInputTokens)).toEqual([100_000, 100_000]);
    expect(records[0]!.costUsd).toBeCloseTo(expected, 12);
    expect(records[1]!.costUsd).toBeCloseTo(expected, 12);
  });

  it('prices Claude Sonnet 4.5 above 200,000 input tokens at the long-context rate, the whole request', async () => {
    server.use(on('converse', () => converseReply({ inputTokens: 150_000, outputTokens: 1_000, cacheReadInputTokens: 100_000 })));
    const { client, records } = setup();
    await client.send(new ConverseCommand(say('x', 'global.anthropic.claude-sonnet-4-5-20250929-v1:0')));
    // 250,000 input tokens in all (cache reads count): input $6, output $22.50, cache read $0.60 per million.
    expect(records[0]!.costUsd).toBeCloseTo(per(150_000, 6) + per(1_000, 22.5) + per(100_000, 0.6), 12);
  });

  it('prices a prompt-router call as the model the router chose, and records that model', async () => {
    const ROUTER = 'arn:aws:bedrock:us-east-1:123456789012:default-prompt-router/anthropic.claude:1';
    const ROUTED = 'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0';
    server.use(on('converse', () => converseReply({ inputTokens: 1_000, outputTokens: 100 }, 'x', { trace: { promptRouter: { invokedModelId: ROUTED } } })));
    const { client, records } = setup();
    await client.send(new ConverseCommand(say('x', ROUTER)));
    expect(records[0]).toMatchObject({ requestedModelId: ROUTER, modelId: ROUTED, baseModelId: 'anthropic.claude-3-5-haiku-20241022-v1:0' });
    expect(records[0]!.costUsd).toBeCloseTo(per(1_000, 0.8) + per(100, 4), 12);
  });

  it('does the same for a streamed prompt-router call (the metadata event names the model)', async () => {
    const ROUTER = 'arn:aws:bedrock:us-east-1:123456789012:default-prompt-router/meta.llama:1';
    const ROUTED = 'arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-1-8b-instruct-v1:0';
    server.use(on('converse-stream', () => eventStream(converseStream({ inputTokens: 1_000, outputTokens: 100 }, 2, { trace: { promptRouter: { invokedModelId: ROUTED } } }))));
    const { client, records } = setup();
    await drain((await client.send(new ConverseStreamCommand(say('x', ROUTER)))).stream);
    expect(records[0]).toMatchObject({ requestedModelId: ROUTER, modelId: ROUTED, baseModelId: 'meta.llama3-1-8b-instruct-v1:0' });
    expect(records[0]!.costUsd).toBeGreaterThan(0);
  });
});

describe('implausible counts are not believed', () => {
  it('a 1e15 token header does not exhaust a budget: the count is dropped, the estimate is charged', async () => {
    server.use(on('invoke', () => json({ content: [] }, { 'x-amzn-bedrock-input-token-count': '999999999999999', 'x-amzn-bedrock-output-token-count': '12' })));
    const { client, records, finops } = setup({ estimator: () => 500, budgets: [{ name: 'b', limit: { tokens: 100_000, costUsd: 10 }, window: 'day' }] });
    await client.send(new InvokeModelCommand({ modelId: HAIKU, body: jsonBody({ max_tokens: 50 }) }));
    await client.send(new InvokeModelCommand({ modelId: HAIKU, body: jsonBody({ max_tokens: 50 }) }));
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ usageSource: 'estimate', inputTokens: 500, outputTokens: 12 });
    expect(records[0]!.costUsd).toBeLessThan(0.01);
    const [status] = await finops.budgets.status();
    expect(status!.used.tokens).toBe(2 * 512);
  });
});
