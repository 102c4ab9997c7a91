import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  CountTokensCommand,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
  ThrottlingException,
  ValidationException,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBedrockSimulator, tokensOfText, type BedrockSimulator } from '../../src/testing/index.js';

const ARN = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/sim01';
let sim: BedrockSimulator;
let client: BedrockRuntimeClient;

beforeAll(async () => {
  sim = await startBedrockSimulator({ provisioned: { [ARN]: { model: 'anthropic.claude-3-haiku-20240307-v1:0', tokensPerMinute: 100 } } });
  client = new BedrockRuntimeClient({ endpoint: sim.url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, requestHandler: new NodeHttpHandler(), maxAttempts: 1 });
});
afterAll(async () => {
  await sim.close();
});

const text = 'The quick brown fox jumps over the lazy dog.';
const expectedInput = tokensOfText(text) + 3;

describe('the local Bedrock simulator with an unmodified BedrockRuntimeClient over HTTP/1.1 (NodeHttpHandler)', () => {
  it('answers Converse with deterministic usage: ceil(chars / 4) + 3 per message in, min(maxTokens, 64) out', async () => {
    const out = await client.send(new ConverseCommand({ modelId: 'us.amazon.nova-lite-v1:0', messages: [{ role: 'user', content: [{ text }] }], inferenceConfig: { maxTokens: 20 } }));
    expect(out.usage).toMatchObject({ inputTokens: expectedInput, outputTokens: 20, totalTokens: expectedInput + 20 });
    expect(out.output?.message?.content?.[0]?.text?.split(' ')).toHaveLength(20);
  });

  it('streams ConverseStream as real event-stream frames ending with metadata', async () => {
    const out = await client.send(new ConverseStreamCommand({ modelId: 'anthropic.claude-3-haiku-20240307-v1:0', messages: [{ role: 'user', content: [{ text }] }], inferenceConfig: { maxTokens: 12 } }));
    const kinds: string[] = [];
    for await (const e of out.stream!) kinds.push(Object.keys(e)[0]!);
    expect(kinds[0]).toBe('messageStart');
    expect(kinds.at(-1)).toBe('metadata');
    expect(kinds.filter((k) => k === 'contentBlockDelta')).toHaveLength(3);
  });

  it.each([
    ['anthropic.claude-3-haiku-20240307-v1:0', { anthropic_version: 'bedrock-2023-05-31', max_tokens: 9, messages: [{ role: 'user', content: text }] }],
    ['amazon.nova-micro-v1:0', { messages: [{ role: 'user', content: [{ text }] }], inferenceConfig: { max_new_tokens: 9 } }],
    ['amazon.titan-text-express-v1', { inputText: text, textGenerationConfig: { maxTokenCount: 9 } }],
    ['meta.llama3-8b-instruct-v1:0', { prompt: text, max_gen_len: 9 }],
  ])('answers InvokeModel in the %s body format with the billed-token headers', async (modelId, body) => {
    const out = await client.send(new InvokeModelCommand({ modelId, body: JSON.stringify(body) }));
    expect(JSON.parse(new TextDecoder().decode(out.body))).toBeTypeOf('object');
    const stream = await client.send(new InvokeModelWithResponseStreamCommand({ modelId, body: JSON.stringify(body) }));
    const chunks: Record<string, unknown>[] = [];
    for await (const e of stream.body!) chunks.push(JSON.parse(new TextDecoder().decode(e.chunk?.bytes)) as Record<string, unknown>);
    expect(chunks.at(-1)?.['amazon-bedrock-invocationMetrics']).toMatchObject({ outputTokenCount: 9 });
  });

  it('counts tokens with CountTokens by the same rule', async () => {
    const out = await client.send(new CountTokensCommand({ modelId: 'anthropic.claude-3-haiku-20240307-v1:0', input: { converse: { messages: [{ role: 'user', content: [{ text }] }] } } }));
    expect(out.inputTokens).toBe(expectedInput);
  });

  it('answers a provisioned model over its capacity with a real ThrottlingException', async () => {
    const call = () => client.send(new ConverseCommand({ modelId: ARN, messages: [{ role: 'user', content: [{ text }] }], inferenceConfig: { maxTokens: 40 } }));
    await call();
    const error = await call().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ThrottlingException);
    expect((error as ThrottlingException).$metadata.httpStatusCode).toBe(429);
    expect(sim.stats.byModel.get(ARN)).toMatchObject({ requests: 2, throttled: 1 });
  });

  it('rejects bad requests with ValidationException', async () => {
    await expect(client.send(new ConverseCommand({ modelId: 'not a model', messages: [{ role: 'user', content: [{ text }] }] }))).rejects.toBeInstanceOf(ValidationException);
    await expect(client.send(new InvokeModelCommand({ modelId: 'cohere.command-r-v1:0', body: '{}' }))).rejects.toBeInstanceOf(ValidationException);
  });

  it('answers in-process through sim.requestHandler() with the same engine', async () => {
    const inProcess = new BedrockRuntimeClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, requestHandler: sim.requestHandler() });
    const out = await inProcess.send(new ConverseCommand({ modelId: 'us.amazon.nova-lite-v1:0', messages: [{ role: 'user', content: [{ text }] }], inferenceConfig: { maxTokens: 5 } }));
    expect(out.usage).toMatchObject({ inputTokens: expectedInput, outputTokens: 5 });
  });
});
