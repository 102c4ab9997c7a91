import { InvokeModelWithResponseStreamCommand, type InvokeModelWithResponseStreamCommandOutput } from '@aws-sdk/client-bedrock-runtime';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps } from '../../src/index.js';
import { invokeStreamChunk, streamException } from '../../src/testing/index.js';
import { FAMILY_FIXTURES } from '../fixtures/families.js';
import { brokenEventStream, decodeChunk, eventStream, jsonBody, makeClient, useMockBedrock, on, recorder, tick, drain } from '../helpers/bedrock.js';

const server = useMockBedrock();

const STREAMING = FAMILY_FIXTURES.filter((f) => f.chunks !== undefined);

function withMetrics(chunk: object, metrics: Record<string, number>): object {
  return { ...chunk, 'amazon-bedrock-invocationMetrics': { invocationLatency: 500, firstByteLatency: 90, ...metrics } };
}

async function drainChunks(out: InvokeModelWithResponseStreamCommandOutput): Promise<unknown[]> {
  return (await drain(out.body)).map((e) => decodeChunk(e.chunk?.bytes));
}

describe('InvokeModelWithResponseStream', () => {
  it.each(STREAMING)('meters $family from the final chunk’s invocation metrics, which win over the family counts', async (f) => {
    const chunks = [...f.chunks!];
    const last = chunks.pop() as object;
    chunks.push(withMetrics(last, { inputTokenCount: 4000, outputTokenCount: 700, cacheReadInputTokenCount: 30, cacheWriteInputTokenCount: 5 }));
    const { records, onUsage } = recorder();
    server.use(on('invoke-with-response-stream', () => eventStream(chunks.map(invokeStreamChunk))));
    const client = makeClient(bedrockFinOps({ onUsage }));
    const out = await client.send(new InvokeModelWithResponseStreamCommand({ modelId: f.modelId, body: jsonBody({}) }));
    expect(await drainChunks(out)).toEqual(chunks);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      operation: 'InvokeModelWithResponseStream',
      inputTokens: 4000,
      outputTokens: 700,
      cacheReadInputTokens: 30,
      cacheWriteInputTokens: 5,
      usageSource: 'invocation-metrics',
      outcome: 'success',
    });
  });

  it.each(STREAMING)('falls back to the $family stream events when invocation metrics are absent', async (f) => {
    const { records, onUsage } = recorder();
    server.use(on('invoke-with-response-stream', () => eventStream(f.chunks!.map(invokeStreamChunk))));
    const client = makeClient(bedrockFinOps({ onUsage }));
    await drainChunks(await client.send(new InvokeModelWithResponseStreamCommand({ modelId: f.modelId, body: jsonBody({}) })));
    const u = f.streamUsage!;
    expect(records[0]).toMatchObject({
      inputTokens: u.inputTokens,
      outputTokens: u.outputTokens,
      cacheReadInputTokens: u.cacheReadInputTokens ?? 0,
      cacheWriteInputTokens: u.cacheWriteInputTokens ?? 0,
      usageSource: 'body',
    });
  });

  it('reads Anthropic output tokens from the last cumulative message_delta of a long stream, not message_start', async () => {
    const deltas = Array.from({ length: 300 }, (_, i) => ({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: `w${i}` } }));
    const chunks = [
      { type: 'message_start', message: { usage: { input_tokens: 12, output_tokens: 1 } } },
      ...deltas,
      { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 150 } },
      { type: 'message_delta', delta: {}, usage: { output_tokens: 301 } },
      { type: 'message_stop' },
    ];
    const { records, onUsage } = recorder();
    server.use(on('invoke-with-response-stream', () => eventStream(chunks.map(invokeStreamChunk))));
    const client = makeClient(bedrockFinOps({ onUsage }));
    const seen = await drainChunks(await client.send(new InvokeModelWithResponseStreamCommand({ modelId: 'anthropic.claude-3-haiku-20240307-v1:0', body: jsonBody({}) })));
    expect(seen).toHaveLength(chunks.length);
    expect(records[0]).toMatchObject({ inputTokens: 12, outputTokens: 301, usageSource: 'body' });
  });

  it('settles once with the error and an estimate from the partial usage when an exception event arrives mid-stream', async () => {
    const chunks = [
      { generation: 'a', prompt_token_count: 23, generation_token_count: 1 },
      { generation: 'b', prompt_token_count: null, generation_token_count: 2 },
      { generation: 'c', prompt_token_count: null, generation_token_count: 3 },
    ];
    const { records, onUsage } = recorder();
    server.use(
      on('invoke-with-response-stream', () =>
        eventStream([...chunks.map(invokeStreamChunk), streamException('modelStreamErrorException', 'the model failed')]),
      ),
    );
    const client = makeClient(bedrockFinOps({ onUsage }));
    const out = await client.send(new InvokeModelWithResponseStreamCommand({ modelId: 'meta.llama3-8b-instruct-v1:0', body: jsonBody({}) }));
    await expect(drainChunks(out)).rejects.toMatchObject({ name: 'ModelStreamErrorException' });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ outcome: 'error', error: 'ModelStreamErrorException', inputTokens: 23, outputTokens: 3, usageSource: 'estimate' });
  });

  it('settles once when the connection breaks mid-stream', async () => {
    const { records, onUsage } = recorder();
    server.use(on('invoke-with-response-stream', () => brokenEventStream([invokeStreamChunk({ generation: 'a', prompt_token_count: 5, generation_token_count: 1 })])));
    const client = makeClient(bedrockFinOps({ onUsage }), { maxAttempts: 1 });
    const out = await client.send(new InvokeModelWithResponseStreamCommand({ modelId: 'meta.llama3-8b-instruct-v1:0', body: jsonBody({}) }));
    await expect(drainChunks(out)).rejects.toBeDefined();
    await tick(10);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ outcome: 'error', inputTokens: 5, outputTokens: 1 });
  });

  it('settles once as abandoned when the caller stops reading, after reading the rest in the background', async () => {
    const { records, onUsage } = recorder();
    const chunks = Array.from({ length: 10 }, (_, i) => ({ generation: `${i}`, prompt_token_count: i === 0 ? 8 : null, generation_token_count: i + 1 }));
    server.use(on('invoke-with-response-stream', () => eventStream(chunks.map(invokeStreamChunk))));
    const client = makeClient(bedrockFinOps({ onUsage }));
    const out = await client.send(new InvokeModelWithResponseStreamCommand({ modelId: 'meta.llama3-8b-instruct-v1:0', body: jsonBody({}) }));
    await drain(out.body, 1);
    await tick(10);
    expect(records).toHaveLength(1);
    // Llama streams carry no invocation metrics here: the family's own counts, drained to the end, mark an estimate.
    expect(records[0]).toMatchObject({ outcome: 'abandoned', inputTokens: 8, outputTokens: 10, usageSource: 'estimate' });
  });
});
