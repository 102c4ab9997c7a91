import { InvokeModelCommand } from '@aws-sdk/client-bedrock-runtime';
import { describe, expect, it } from 'vitest';
import { HttpResponse } from 'msw';
import { bedrockFinOps } from '../../src/index.js';
import { FAMILY_FIXTURES } from '../fixtures/families.js';
import { awsError, json, jsonBody, makeClient, useMockBedrock, on, recorder } from '../helpers/bedrock.js';

const server = useMockBedrock();

const billedHeaders = {
  'x-amzn-bedrock-input-token-count': '1000',
  'x-amzn-bedrock-output-token-count': '250',
  'x-amzn-bedrock-cache-read-input-token-count': '64',
  'x-amzn-bedrock-cache-write-input-token-count': '8',
  'x-amzn-bedrock-invocation-latency': '321',
};

describe('InvokeModel', () => {
  it.each(FAMILY_FIXTURES)('meters $family from the billed-token headers, which win over the body', async (f) => {
    const { records, onUsage } = recorder();
    server.use(on('invoke', () => json(f.body, billedHeaders)));
    const client = makeClient(bedrockFinOps({ onUsage }));
    const out = await client.send(new InvokeModelCommand({ modelId: f.modelId, body: jsonBody({ prompt: 'x' }) }));
    expect(JSON.parse(new TextDecoder().decode(out.body))).toEqual(f.body);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      operation: 'InvokeModel',
      modelId: f.modelId,
      inputTokens: 1000,
      outputTokens: 250,
      cacheReadInputTokens: 64,
      cacheWriteInputTokens: 8,
      usageSource: 'headers',
      outcome: 'success',
    });
  });

  it.each(FAMILY_FIXTURES)('falls back to the $family body usage when the headers are absent', async (f) => {
    const { records, onUsage } = recorder();
    server.use(on('invoke', () => json(f.body)));
    const client = makeClient(bedrockFinOps({ onUsage }));
    await client.send(new InvokeModelCommand({ modelId: f.modelId, body: jsonBody({ prompt: 'x' }) }));
    expect(records[0]).toMatchObject({
      inputTokens: f.usage.inputTokens,
      outputTokens: f.usage.outputTokens,
      cacheReadInputTokens: f.usage.cacheReadInputTokens ?? 0,
      cacheWriteInputTokens: f.usage.cacheWriteInputTokens ?? 0,
      usageSource: 'body',
    });
  });

  it('reads the body of an application inference profile through its `models` mapping', async () => {
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdef123456';
    const { records, onUsage } = recorder();
    server.use(on('invoke', () => json({ generation: 'x', prompt_token_count: 3, generation_token_count: 4 })));
    const client = makeClient(bedrockFinOps({ onUsage, models: { [arn]: 'us.meta.llama3-1-70b-instruct-v1:0' } }));
    await client.send(new InvokeModelCommand({ modelId: arn, body: jsonBody({ prompt: 'x' }) }));
    expect(records[0]).toMatchObject({
      modelKind: 'application-inference-profile',
      baseModelId: 'meta.llama3-1-70b-instruct-v1:0',
      inputTokens: 3,
      outputTokens: 4,
    });
  });

  it('tries every family shape for an id whose model it cannot know', async () => {
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:imported-model/zzz999';
    const { records, onUsage } = recorder();
    server.use(on('invoke', () => json({ content: [], usage: { input_tokens: 7, output_tokens: 9 } })));
    const client = makeClient(bedrockFinOps({ onUsage }));
    await client.send(new InvokeModelCommand({ modelId: arn, body: jsonBody({}) }));
    expect(records[0]).toMatchObject({ modelKind: 'imported-model', baseModelId: undefined, inputTokens: 7, outputTokens: 9, usageSource: 'body' });
  });

  it('charges an estimate for a body that is not JSON, without breaking the call', async () => {
    const { records, onUsage } = recorder();
    server.use(on('invoke', () => new HttpResponse(new Uint8Array([0xff, 0x00, 0x12]), { headers: { 'content-type': 'application/octet-stream' } })));
    const client = makeClient(bedrockFinOps({ onUsage }));
    const out = await client.send(new InvokeModelCommand({ modelId: 'stability.sd3-5-large-v1:0', body: jsonBody({}) }));
    expect(Array.from(out.body)).toEqual([0xff, 0x00, 0x12]);
    expect(records[0]).toMatchObject({ usageSource: 'estimate', outputTokens: 0, outcome: 'success' });
  });

  it('charges an estimate for a body with a malformed usage block', async () => {
    const { records, onUsage } = recorder();
    server.use(on('invoke', () => json({ usage: { input_tokens: 'lots', output_tokens: -4 } })));
    const client = makeClient(bedrockFinOps({ onUsage }));
    await client.send(new InvokeModelCommand({ modelId: 'anthropic.claude-3-haiku-20240307-v1:0', body: jsonBody({}) }));
    expect(records[0]).toMatchObject({ usageSource: 'estimate', outputTokens: 0 });
  });

  it('records a ModelErrorException by name', async () => {
    const { records, onUsage } = recorder();
    server.use(on('invoke', () => awsError(424, 'ModelErrorException', 'model failed')));
    const client = makeClient(bedrockFinOps({ onUsage }), { maxAttempts: 1 });
    await expect(client.send(new InvokeModelCommand({ modelId: 'meta.llama3-8b-instruct-v1:0', body: jsonBody({}) }))).rejects.toMatchObject({
      name: 'ModelErrorException',
    });
    expect(records[0]).toMatchObject({ outcome: 'error', error: 'ModelErrorException', requestId: 'req-err' });
  });
});
