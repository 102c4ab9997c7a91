import { ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps } from '../../src/index.js';
import { converseStreamEvent, streamException, type EventStreamMessage } from '../../src/testing/index.js';
import { awsError, brokenEventStream, eventStream, makeClient, useMockBedrock, on, recorder, tick, drain } from '../helpers/bedrock.js';

const server = useMockBedrock();

const input = {
  modelId: 'anthropic.claude-3-5-haiku-20241022-v1:0',
  messages: [{ role: 'user' as const, content: [{ text: 'hello' }] }],
};

function textEvents(n: number): EventStreamMessage[] {
  const out: EventStreamMessage[] = [converseStreamEvent('messageStart', { role: 'assistant' })];
  for (let i = 0; i < n; i++) out.push(converseStreamEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: `t${i} ` } }));
  out.push(converseStreamEvent('contentBlockStop', { contentBlockIndex: 0 }));
  out.push(converseStreamEvent('messageStop', { stopReason: 'end_turn' }));
  return out;
}

const metadata = converseStreamEvent('metadata', {
  usage: { inputTokens: 120, outputTokens: 33, totalTokens: 653, cacheReadInputTokens: 500, cacheWriteInputTokens: 0 },
  metrics: { latencyMs: 80 },
});

describe('ConverseStream', () => {
  it('passes every event through unchanged and in order, then records the metadata usage once', async () => {
    const { records, onUsage } = recorder();
    server.use(on('converse-stream', () => eventStream([...textEvents(50), metadata])));
    const bare = makeClient();
    const metered = makeClient(bedrockFinOps({ onUsage }));
    const expected = await drain((await bare.send(new ConverseStreamCommand(input))).stream);
    const out = await metered.send(new ConverseStreamCommand(input));
    expect(records).toHaveLength(0); // not settled before the stream is read
    const seen = await drain(out.stream);
    expect(seen).toEqual(expected);
    expect(seen).toHaveLength(54);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      operation: 'ConverseStream',
      inputTokens: 120,
      outputTokens: 33,
      cacheReadInputTokens: 500,
      cacheWriteInputTokens: 0,
      usageSource: 'usage',
      outcome: 'success',
      requestId: 'req-stream',
    });
    expect(records[0]!.timeToFirstChunkMs).toBeGreaterThan(0);
    expect(records[0]!.durationMs).toBeGreaterThanOrEqual(records[0]!.timeToFirstChunkMs!);
  });

  it('settles once as abandoned when the caller breaks out of the loop, with the usage Bedrock billed (the rest is read in the background)', async () => {
    const { records, onUsage } = recorder();
    server.use(on('converse-stream', () => eventStream([...textEvents(20), metadata])));
    const client = makeClient(bedrockFinOps({ onUsage }));
    const out = await client.send(new ConverseStreamCommand(input));
    let n = 0;
    for await (const _ of out.stream!) {
      if (++n === 3) break;
    }
    await tick(10);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ outcome: 'abandoned', error: undefined, usageSource: 'usage', inputTokens: 120, outputTokens: 33, cacheReadInputTokens: 500 });
  });

  it('settles with the exception name when an exception event arrives mid-stream', async () => {
    const { records, onUsage } = recorder();
    server.use(
      on('converse-stream', () =>
        eventStream([...textEvents(3).slice(0, 3), streamException('modelStreamErrorException', 'model failed')]),
      ),
    );
    const client = makeClient(bedrockFinOps({ onUsage }));
    const out = await client.send(new ConverseStreamCommand(input));
    const seen: unknown[] = [];
    await expect(async () => {
      for await (const e of out.stream!) seen.push(e);
    }).rejects.toMatchObject({ name: 'ModelStreamErrorException' });
    expect(seen).toHaveLength(3);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ outcome: 'error', error: 'ModelStreamErrorException' });
  });

  it('settles once with the error when the connection breaks mid-stream', async () => {
    const { records, onUsage } = recorder();
    server.use(on('converse-stream', () => brokenEventStream(textEvents(4))));
    const client = makeClient(bedrockFinOps({ onUsage }), { maxAttempts: 1 });
    const out = await client.send(new ConverseStreamCommand(input));
    await expect(async () => {
      await drain(out.stream);
    }).rejects.toBeDefined();
    await tick(10);
    expect(records).toHaveLength(1);
    expect(records[0]!.outcome).toBe('error');
  });

  it('records a throttle that rejects send() before the first event', async () => {
    const { records, onUsage } = recorder();
    server.use(on('converse-stream', () => awsError(429, 'ThrottlingException')));
    const client = makeClient(bedrockFinOps({ onUsage }), { maxAttempts: 1 });
    await expect(client.send(new ConverseStreamCommand(input))).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ outcome: 'error', error: 'ThrottlingException', inputTokens: 0 });
  });

  it('keeps partial usage seen before a failure', async () => {
    const { records, onUsage } = recorder();
    server.use(on('converse-stream', () => eventStream([...textEvents(2), metadata, streamException('internalServerException', 'boom')])));
    const client = makeClient(bedrockFinOps({ onUsage }));
    const out = await client.send(new ConverseStreamCommand(input));
    await expect(drain(out.stream)).rejects.toMatchObject({ name: 'InternalServerException' });
    expect(records[0]).toMatchObject({ outcome: 'error', error: 'InternalServerException', inputTokens: 120, outputTokens: 33 });
  });
});
