import { ConverseCommand, ConverseStreamCommand, InvokeModelWithResponseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { delay, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps } from '../../src/index.js';
import { converseStreamEvent, encodeEventStream, invokeStreamChunk } from '../../src/testing/index.js';
import { converseReply, drain, eventStream, jsonBody, makeClient, on, say, tick, useMockBedrock, awsError } from '../helpers/bedrock.js';
import { converseFrames, countConverse, exposeGc, expectNothingReserved, HAIKU, hostileSetup, settleSoon, slowTail } from '../helpers/adversary.js';

const server = useMockBedrock();
const budget = { name: 'b', limit: { tokens: 1_000_000, costUsd: 100 }, window: 'day' as const };

describe('a call aborted before anything is sent', () => {
  it('with an already-aborted signal reaches no Bedrock and is charged nothing', async () => {
    const seen = countConverse(server, { inputTokens: 10, outputTokens: 10 });
    const { client, records, finops } = hostileSetup({ estimator: () => 777, budgets: [budget] });
    await expect(client.send(new ConverseCommand(say('x', HAIKU, 100)), { abortSignal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen.requests).toBe(0);
    const [status] = await finops.budgets.status();
    // Charged: 777 estimated input tokens (usageSource 'estimate'). Should be: 0 — Bedrock never saw the request.
    expect({ used: status!.used.tokens, source: records[0]?.usageSource, input: records[0]?.inputTokens }).toEqual({ used: 0, source: 'none', input: 0 });
  });
});

describe('every way a stream can end settles once and releases its reservation', () => {
  it.each([
    ['read to the end', async (s: AsyncIterable<unknown>) => {
      await drain(s);
    }],
    ['`break` after the first event', async (s: AsyncIterable<unknown>) => {
      await drain(s, 1);
    }],
    ['`return()` twice', async (s: AsyncIterable<unknown>) => {
      const it = s[Symbol.asyncIterator]();
      await it.next();
      await Promise.all([it.return?.(), it.return?.()]);
    }],
    ['iterated twice (break, then for-await again)', async (s: AsyncIterable<unknown>) => {
      await drain(s, 1);
      await drain(s).catch(() => undefined);
    }],
  ])('%s: one record, with the billed usage, nothing left reserved', async (_, read) => {
    server.use(on('converse-stream', () => eventStream(converseFrames({ inputTokens: 1_000, outputTokens: 50 }, 4))));
    const { client, records, finops } = hostileSetup({ estimator: () => 1_000, budgets: [budget] });
    const out = await client.send(new ConverseStreamCommand(say('x', HAIKU, 100)));
    await read(out.stream!);
    await settleSoon(() => records.length > 0);
    await tick(20);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ inputTokens: 1_000, outputTokens: 50 });
    await expectNothingReserved(finops);
  });

  it('`throw()` on the iterator stops reading like `break`: the rest is drained and the billed usage recorded', async () => {
    server.use(on('converse-stream', () => eventStream(converseFrames({ inputTokens: 1_000, outputTokens: 50 }, 4))));
    const { client, records, finops } = hostileSetup({ estimator: () => 1_000, budgets: [budget] });
    const out = await client.send(new ConverseStreamCommand(say('x', HAIKU, 100)));
    const it = out.stream![Symbol.asyncIterator]();
    await it.next();
    await it.throw?.(new Error('caller gives up')).catch(() => undefined);
    await settleSoon(() => records.length > 0);
    // Recorded: outcome 'error', usageSource 'estimate', 1,000 in / 0 out (the caller's own error as the call's).
    // Should be: outcome 'abandoned', Bedrock's billed 1,000 in / 50 out from the metadata event.
    expect(records[0]).toMatchObject({ outcome: 'abandoned', usageSource: 'usage', inputTokens: 1_000, outputTokens: 50 });
    await expectNothingReserved(finops);
  });

  it('a stream is read once: iterated again after a `break` it yields nothing, and the drain still records the billed usage', async () => {
    server.use(on('converse-stream', () => slowTail(converseFrames({ inputTokens: 1_000, outputTokens: 50 }, 4), 2, 30)));
    const again = async (client: ReturnType<typeof makeClient>) => {
      const out = await client.send(new ConverseStreamCommand(say('x', HAIKU, 100)));
      await drain(out.stream, 1);
      return (await drain(out.stream)).map((e) => Object.keys(e)[0]);
    };
    // (The bare SDK replays a fully buffered test body from the start; a second reader beside the
    // drain would get a stream with holes in it. Documented: a stream is read once.)
    const { client, records } = hostileSetup();
    expect(await again(client)).toEqual([]);
    await settleSoon(() => records.length > 0);
    expect(records[0]).toMatchObject({ outcome: 'abandoned', usageSource: 'usage', inputTokens: 1_000, outputTokens: 50 });
  });

  it.each([
    ['text', { text: 'x'.repeat(10_000) }],
    ['tool-use input', { toolUse: { input: 'x'.repeat(10_000) } }],
  ])('the drain gives up near maxBytes whatever the deltas carry (%s): usage 400 KB later is not read', async (_, delta) => {
    const frames = [
      converseStreamEvent('messageStart', { role: 'assistant' }),
      ...Array.from({ length: 40 }, () => converseStreamEvent('contentBlockDelta', { contentBlockIndex: 0, delta })),
      converseStreamEvent('messageStop', { stopReason: 'end_turn' }),
      converseStreamEvent('metadata', { usage: { inputTokens: 10, outputTokens: 100_000, totalTokens: 100_010 }, metrics: { latencyMs: 1 } }),
    ];
    server.use(on('converse-stream', () => eventStream(frames)));
    const { client, records } = hostileSetup({ drainAbandonedStreams: { maxBytes: 16_384 } });
    await drain((await client.send(new ConverseStreamCommand(say('x', HAIKU, 100)))).stream, 1);
    await settleSoon(() => records.length > 0);
    // Tool-use (and reasoning) deltas weigh 64 "bytes" each in ConverseStreamUsageTracker.size: the drain read all
    // 400 KB past a 16 KB bound and recorded usageSource 'usage'. Text deltas stop at the bound ('estimate').
    expect(records[0]).toMatchObject({ outcome: 'abandoned', usageSource: 'estimate' });
  });

  it('a stream dropped unread is drained once garbage-collected and charged the billed usage', async () => {
    const gc = exposeGc();
    server.use(on('converse-stream', () => eventStream(converseFrames({ inputTokens: 1_234, outputTokens: 56 }, 4))));
    const { client, records, finops } = hostileSetup({ estimator: () => 1_000, budgets: [budget] });
    await (async () => {
      await client.send(new ConverseStreamCommand(say('x', HAIKU, 100)));
    })();
    await settleSoon(() => {
      gc();
      return records.length > 0;
    });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ outcome: 'abandoned', usageSource: 'usage', inputTokens: 1_234, outputTokens: 56 });
    await expectNothingReserved(finops);
  });

  it('shutdown() while drains are in flight settles each with an estimate at once, and later frames change nothing', async () => {
    server.use(on('converse-stream', () => slowTail(converseFrames({ inputTokens: 1_000, outputTokens: 50 }, 4), 2, 300)));
    const { client, records, finops } = hostileSetup({ estimator: () => 900, budgets: [budget] });
    for (let i = 0; i < 3; i++) await drain((await client.send(new ConverseStreamCommand(say('x', HAIKU, 100)))).stream, 1);
    expect(records).toHaveLength(0);
    await finops.shutdown();
    expect(records.map((r) => [r.outcome, r.usageSource, r.inputTokens])).toEqual(Array.from({ length: 3 }, () => ['abandoned', 'estimate', 900]));
    await tick(400);
    expect(records).toHaveLength(3);
    const [status] = await finops.budgets.status();
    expect(status!.used.tokens).toBe(3 * 900 + records.reduce((s, r) => s + r.outputTokens, 0));
    await expectNothingReserved(finops);
  });

  it('onUsage, onBudgetEvent and the ledger all throwing never reach the caller, and nothing stays reserved', async () => {
    server.use(on('converse', () => converseReply({ inputTokens: 10, outputTokens: 5 })), on('converse-stream', () => eventStream(converseFrames({ inputTokens: 10, outputTokens: 5 }))));
    const boom = () => {
      throw new Error('sink down');
    };
    const finops = bedrockFinOps({
      onUsage: boom,
      onBudgetEvent: boom,
      ledger: { write: boom, close: () => Promise.reject(new Error('close failed')) } as never,
      budgets: [{ ...budget, alertAt: [0.000001] }],
    });
    const client = makeClient(finops, { maxAttempts: 1 });
    await expect(client.send(new ConverseCommand(say('x', HAIKU, 10)))).resolves.toBeDefined();
    await drain((await client.send(new ConverseStreamCommand(say('x', HAIKU, 10)))).stream, 1);
    await tick(50);
    const [status] = await finops.budgets.status();
    expect(status!.used.tokens).toBe(30);
    await expectNothingReserved(finops);
  });

  it('a service error before any response is charged nothing and releases the reservation', async () => {
    server.use(on('converse-stream', () => awsError(400, 'ValidationException')));
    const { client, records, finops } = hostileSetup({ estimator: () => 900, budgets: [budget] });
    await expect(client.send(new ConverseStreamCommand(say('x', HAIKU, 100)))).rejects.toMatchObject({ name: 'ValidationException' });
    expect(records[0]).toMatchObject({ outcome: 'error', usageSource: 'none', inputTokens: 0 });
    const [status] = await finops.budgets.status();
    expect(status!.used).toEqual({ tokens: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 });
    await expectNothingReserved(finops);
  });

  it('an abort during the background drain still settles once, nothing reserved', async () => {
    server.use(on('converse-stream', () => slowTail(converseFrames({ inputTokens: 1_000, outputTokens: 50 }, 4), 2, 200)));
    const { client, records, finops } = hostileSetup({ estimator: () => 900, budgets: [budget] });
    const controller = new AbortController();
    const out = await client.send(new ConverseStreamCommand(say('x', HAIKU, 100)), { abortSignal: controller.signal });
    await drain(out.stream, 1);
    controller.abort();
    await settleSoon(() => records.length > 0);
    await tick(250);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ outcome: 'abandoned' });
    expect(records[0]!.inputTokens).toBeGreaterThan(0);
    await expectNothingReserved(finops);
  });

  it('an InvokeModelWithResponseStream whose connection breaks mid-drain is charged its family counts, not 0', async () => {
    const chunks = [{ type: 'message_start', message: { usage: { input_tokens: 900, output_tokens: 1 } } }, { type: 'content_block_delta', delta: { type: 'text_delta', text: 'abc' } }];
    server.use(
      on('invoke-with-response-stream', () => {
        const body = encodeEventStream(chunks.map(invokeStreamChunk));
        const stream = new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(body);
            setTimeout(() => c.error(new Error('socket hang up')), 30);
          },
        });
        return new HttpResponse(stream, { headers: { 'content-type': 'application/vnd.amazon.eventstream' } });
      }),
    );
    const { client, records, finops } = hostileSetup({ estimator: () => 500, budgets: [budget] });
    const out = await client.send(new InvokeModelWithResponseStreamCommand({ modelId: HAIKU, body: jsonBody({ max_tokens: 100 }) }));
    await drain(out.body, 1);
    await settleSoon(() => records.length > 0);
    expect(records[0]).toMatchObject({ outcome: 'abandoned', usageSource: 'estimate', inputTokens: 900 });
    await expectNothingReserved(finops);
  });

  it('a Converse whose response is slower than an abort is charged the estimate once, never twice', async () => {
    server.use(
      on('converse', async () => {
        await delay(100);
        return converseReply({ inputTokens: 10, outputTokens: 10 });
      }),
    );
    const { client, records, finops } = hostileSetup({ estimator: () => 321, budgets: [budget] });
    const controller = new AbortController();
    const sent = client.send(new ConverseCommand(say('x', HAIKU, 100)), { abortSignal: controller.signal });
    await tick(20);
    controller.abort();
    await expect(sent).rejects.toBeDefined();
    await tick(150);
    expect(records).toHaveLength(1);
    const [status] = await finops.budgets.status();
    expect(status!.used.tokens).toBe(321);
    await expectNothingReserved(finops);
  });
});
