import { ConverseCommand, ThrottlingException } from '@aws-sdk/client-bedrock-runtime';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps } from '../../src/index.js';
import { awsError, json, makeClient, useMockBedrock, on, recorder, converseReply } from '../helpers/bedrock.js';

const server = useMockBedrock();

const input = {
  modelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
  messages: [{ role: 'user' as const, content: [{ text: 'hello' }] }],
};

function converseBody(usage: Record<string, number>) {
  return {
    output: { message: { role: 'assistant', content: [{ text: 'hi there' }] } },
    stopReason: 'end_turn',
    usage,
    metrics: { latencyMs: 12 },
  };
}

describe('Converse', () => {
  it('emits one record with the exact usage Bedrock reported, cache tokens included', async () => {
    const { records, onUsage } = recorder();
    server.use(
      on('converse', () =>
        json(converseBody({ inputTokens: 17, outputTokens: 42, cacheReadInputTokens: 300, cacheWriteInputTokens: 25, totalTokens: 384 })),
      ),
    );
    const client = makeClient(bedrockFinOps({ onUsage, attribution: { team: 'search' } }));
    const out = await client.send(new ConverseCommand(input));
    expect(out.output?.message?.content?.[0]?.text).toBe('hi there');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      operation: 'Converse',
      requestedModelId: input.modelId,
      modelId: input.modelId,
      modelKind: 'inference-profile',
      baseModelId: 'anthropic.claude-sonnet-4-5-20250929-v1:0',
      attribution: { team: 'search' },
      inputTokens: 17,
      outputTokens: 42,
      cacheReadInputTokens: 300,
      cacheWriteInputTokens: 25,
      usageSource: 'usage',
      outcome: 'success',
      error: undefined,
      fallback: undefined,
      requestId: 'req-123',
    });
    expect(records[0]!.durationMs).toBeGreaterThan(0);
  });

  it('records a service error by exception name with zero tokens, and rethrows it unchanged', async () => {
    const { records, onUsage } = recorder();
    server.use(on('converse', () => awsError(400, 'ValidationException', 'bad input')));
    const client = makeClient(bedrockFinOps({ onUsage }));
    await expect(client.send(new ConverseCommand(input))).rejects.toMatchObject({ name: 'ValidationException' });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ outcome: 'error', error: 'ValidationException', inputTokens: 0, outputTokens: 0, usageSource: 'none' });
  });

  it('settles once per operation even when the SDK retries a throttled attempt', async () => {
    const { records, onUsage } = recorder();
    let attempts = 0;
    server.use(
      on('converse', () => {
        attempts++;
        return attempts === 1 ? awsError(429, 'ThrottlingException', 'slow down') : json(converseBody({ inputTokens: 5, outputTokens: 6, totalTokens: 11 }));
      }),
    );
    const client = makeClient(bedrockFinOps({ onUsage }), { maxAttempts: 2 });
    await client.send(new ConverseCommand(input));
    expect(attempts).toBe(2);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ inputTokens: 5, outputTokens: 6, outcome: 'success' });
  });

  it('records the final ThrottlingException once when every retry is throttled', async () => {
    const { records, onUsage } = recorder();
    server.use(on('converse', () => awsError(429, 'ThrottlingException', 'slow down')));
    const client = makeClient(bedrockFinOps({ onUsage }), { maxAttempts: 1 });
    await expect(client.send(new ConverseCommand(input))).rejects.toBeInstanceOf(ThrottlingException);
    expect(records).toHaveLength(1);
    expect(records[0]?.error).toBe('ThrottlingException');
  });

  it('charges an estimate for a response without a usage block, and returns it to the caller', async () => {
    const { records, onUsage } = recorder();
    server.use(on('converse', () => converseReply(null)));
    const client = makeClient(bedrockFinOps({ onUsage }));
    const out = await client.send(new ConverseCommand(input));
    expect(out.stopReason).toBe('end_turn');
    // Bedrock billed it, but the answer does not say how much: charged the input estimate, never 0.
    expect(records[0]).toMatchObject({ usageSource: 'estimate', outcome: 'success' });
    expect(records[0]!.inputTokens).toBeGreaterThan(0);
  });

  it('keeps the call working when onUsage throws', async () => {
    server.use(on('converse', () => json(converseBody({ inputTokens: 1, outputTokens: 1, totalTokens: 2 }))));
    const client = makeClient(
      bedrockFinOps({
        onUsage: () => {
          throw new Error('sink down');
        },
      }),
    );
    await expect(client.send(new ConverseCommand(input))).resolves.toMatchObject({ stopReason: 'end_turn' });
  });
});
