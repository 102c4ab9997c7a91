import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { createAmazonBedrock } from '@ai-sdk/amazon-bedrock';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { embed, embedMany, generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedrockFinOps, BudgetExceededError, withAttribution, type BedrockFinOpsOptions, type UsageRecord } from '../../src/index.js';
import type { FetchFunction } from '../../src/fetch/options.js';
import { startBedrockSimulator, type BedrockSimulator } from '../../src/testing/index.js';
import { recorder } from '../helpers/bedrock.js';
import { until } from '../helpers/fetch.js';

const NOVA = 'us.amazon.nova-micro-v1:0';
const HAIKU = 'us.anthropic.claude-3-haiku-20240307-v1:0';

let sim: BedrockSimulator;
let slow: BedrockSimulator;
beforeAll(async () => {
  sim = await startBedrockSimulator();
  // Paced events: a stream a caller stops early still has frames in flight.
  slow = await startBedrockSimulator({ chunkDelayMs: 15, wordsPerChunk: 1 });
});
afterAll(async () => {
  await sim.close();
  await slow.close();
});

function setup(options: BedrockFinOpsOptions = {}, server = sim) {
  const { records, onUsage } = recorder();
  const finops = bedrockFinOps({ attribution: { team: 'search' }, ...options, onUsage });
  const bedrock = createAmazonBedrock({ region: 'us-east-1', baseURL: server.url, accessKeyId: 'AKIDTEST', secretAccessKey: 'secret', fetch: finops.fetch });
  return { finops, bedrock, records };
}

/** What a record says that must not depend on the path it came by. */
function facts(r: UsageRecord) {
  const { durationMs: _d, startedAt: _s, requestId: _r, timeToFirstChunkMs: _t, ...rest } = r;
  return rest;
}

describe('the Vercel AI SDK through finops.fetch, against the simulator', () => {
  it('generateText: one Converse record with the exact tokens the SDK reports, attributed, priced like the same call through the SDK plugin', async () => {
    const { bedrock, records } = setup();
    const before = sim.stats.byModel.get(NOVA)?.outputTokens ?? 0;
    const result = await withAttribution({ feature: 'chat' }, () => generateText({ model: bedrock(NOVA), prompt: 'Say hi to the team', maxOutputTokens: 40 }));
    expect(records).toHaveLength(1);
    const record = records[0]!;
    expect(record).toMatchObject({ operation: 'Converse', modelId: NOVA, attribution: { team: 'search', feature: 'chat' }, outcome: 'success', usageSource: 'usage' });
    expect([record.inputTokens, record.outputTokens]).toEqual([result.usage.inputTokens, result.usage.outputTokens]);
    expect(record.outputTokens).toBe(sim.stats.byModel.get(NOVA)!.outputTokens - before);

    // The same request through a BedrockRuntimeClient with the plugin: the same record, cost included.
    const sdk = recorder();
    const wire = { modelId: NOVA, messages: [{ role: 'user' as const, content: [{ text: 'Say hi to the team' }] }], inferenceConfig: { maxTokens: 40 } };
    const simClient = new BedrockRuntimeClient({ region: 'us-east-1', endpoint: sim.url, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, requestHandler: new NodeHttpHandler() });
    simClient.middlewareStack.use(bedrockFinOps({ attribution: { team: 'search' }, onUsage: sdk.onUsage }));
    await withAttribution({ feature: 'chat' }, () => simClient.send(new ConverseCommand(wire)));
    expect(record.costUsd).toBeGreaterThan(0);
    expect(facts(record)).toEqual(facts(sdk.records[0]!));
  });

  it('streamText: one ConverseStream record with the exact tokens, once the stream is read', async () => {
    const { bedrock, records } = setup();
    const result = streamText({ model: bedrock(HAIKU), prompt: 'Tell a story' });
    let text = '';
    for await (const part of result.textStream) text += part;
    const usage = await result.usage;
    expect(text.length).toBeGreaterThan(0);
    await until(() => records.length === 1, 'the stream record');
    expect(records[0]).toMatchObject({ operation: 'ConverseStream', modelId: HAIKU, inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, outcome: 'success' });
    expect(records[0]!.timeToFirstChunkMs).toBeGreaterThanOrEqual(0);
  });

  it('refuses a call over budget before the simulator sees it: generateText rejects with BudgetExceededError', async () => {
    const { bedrock, records } = setup({ estimator: () => 10, budgets: [{ name: 'tiny', match: { team: 'search' }, limit: { tokens: 20 }, window: 'day' }] });
    const before = sim.stats.requests;
    const error = await generateText({ model: bedrock(NOVA), prompt: 'hello', maxOutputTokens: 64, maxRetries: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BudgetExceededError);
    expect(error).toMatchObject({ budget: 'tiny', requested: 74 });
    expect(sim.stats.requests).toBe(before);
    expect(records).toEqual([]);
  });

  it('embed and embedMany (Titan through InvokeModel): one record per request with the billed input tokens', async () => {
    const { bedrock, records } = setup();
    const single = await embed({ model: bedrock.embedding('amazon.titan-embed-text-v2:0'), value: 'the quick brown fox' });
    const many = await embedMany({ model: bedrock.embedding('amazon.titan-embed-text-v2:0'), values: ['one', 'two words', 'three more words'] });
    expect(records.map((r) => r.operation)).toEqual(['InvokeModel', 'InvokeModel', 'InvokeModel', 'InvokeModel']);
    expect(records.every((r) => r.usageSource === 'headers' && r.outputTokens === 0)).toBe(true);
    expect(records[0]!.inputTokens).toBe(single.usage.tokens);
    expect(records.slice(1).reduce((n, r) => n + r.inputTokens, 0)).toBe(many.usage.tokens);
  });

  it('keeps every response byte-identical to the same request through plain fetch', async () => {
    const { finops } = setup();
    const metered = finops.wrapFetch(fetch, { endpoints: [sim.url] });
    const requests: [string, unknown][] = [
      [`/model/${NOVA}/converse`, { messages: [{ role: 'user', content: [{ text: 'hi' }] }] }],
      [`/model/${NOVA}/converse-stream`, { messages: [{ role: 'user', content: [{ text: 'hi' }] }] }],
      ['/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke', { anthropic_version: 'bedrock-2023-05-31', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }],
      ['/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke-with-response-stream', { anthropic_version: 'bedrock-2023-05-31', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }],
    ];
    for (const [path, body] of requests) {
      const init = () => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const plain = new Uint8Array(await (await fetch(sim.url + path, init())).arrayBuffer());
      const through = new Uint8Array(await (await metered(sim.url + path, init())).arrayBuffer());
      expect(Buffer.from(through).equals(Buffer.from(plain))).toBe(true);
    }
  });
});

describe('a stream stopped early', () => {
  it('breaking out of textStream: the AI SDK reads the stream to its end, so the record has the full usage', async () => {
    const { bedrock, records } = setup({}, slow);
    const result = streamText({ model: bedrock(HAIKU), prompt: 'Tell a long story', maxOutputTokens: 30 });
    for await (const _ of result.textStream) break;
    await until(() => records.length === 1, 'the stream record');
    expect(records[0]).toMatchObject({ operation: 'ConverseStream', outputTokens: 30, usageSource: 'usage' });
  });

  it('cancelling the fetch body: the rest is drained in the background and the record has what Bedrock billed', async () => {
    const { finops, records } = setup({}, slow);
    const metered = finops.wrapFetch(fetch, { endpoints: [slow.url] });
    const response = await metered(`${slow.url}/model/${HAIKU}/converse-stream`, { method: 'POST', body: JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'hi' }] }], inferenceConfig: { maxTokens: 30 } }) });
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    await until(() => records.length === 1, 'the drained record');
    expect(records[0]).toMatchObject({ outcome: 'abandoned', outputTokens: 30, usageSource: 'usage' });
  });

  it('aborting the request mid-stream: the caller gets its AbortError, the call is recorded as abandoned, charged an estimate, its reservation released', async () => {
    const { bedrock, finops, records } = setup({ estimator: () => 10, budgets: [{ name: 'daily', limit: { tokens: 10_000 }, window: 'day' }] }, slow);
    const abort = new AbortController();
    const result = streamText({ model: bedrock(HAIKU), prompt: 'Tell a long story', abortSignal: abort.signal, maxOutputTokens: 30 });
    const parts: string[] = [];
    for await (const part of result.textStream) {
      parts.push(part);
      abort.abort();
    }
    await until(() => records.length === 1, 'the aborted record');
    expect(parts).toHaveLength(1);
    expect(records[0]).toMatchObject({ outcome: 'abandoned', error: 'AbortError', usageSource: 'estimate', inputTokens: 10 });
    const [status] = await finops.budgets.status();
    expect(status!.reserved.tokens).toBe(0);
    expect(status!.used.tokens).toBeGreaterThanOrEqual(10);
  });
});

describe('AI SDK calls the simulator cannot answer', () => {
  /** A base fetch that answers like Bedrock would, in turn. */
  function scripted(answers: (() => Response)[]): FetchFunction {
    let i = 0;
    return () => Promise.resolve(answers[Math.min(i++, answers.length - 1)]!());
  }
  const jsonAnswer = (body: unknown, tokens?: [number, number]) => () =>
    new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json', ...(tokens === undefined ? {} : { 'x-amzn-bedrock-input-token-count': String(tokens[0]), 'x-amzn-bedrock-output-token-count': String(tokens[1]) }) } });

  function provider(base: FetchFunction) {
    const { records, onUsage } = recorder();
    const finops = bedrockFinOps({ onUsage });
    const bedrock = createAmazonBedrock({ region: 'us-east-1', accessKeyId: 'AKIDTEST', secretAccessKey: 'secret', fetch: finops.wrapFetch(base) });
    return { bedrock, records };
  }

  it('embedMany with Cohere: one InvokeModel record for the batch, from the billed-token headers', async () => {
    const { bedrock, records } = provider(scripted([jsonAnswer({ embeddings: [[0.1, 0.2], [0.3, 0.4]], id: 'e1', response_type: 'embeddings_floats', texts: ['a', 'b'] }, [9, 0])]));
    const result = await embedMany({ model: bedrock.embedding('cohere.embed-english-v3'), values: ['a', 'b'] });
    expect(result.embeddings).toHaveLength(2);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ operation: 'InvokeModel', modelId: 'cohere.embed-english-v3', inputTokens: 9, outputTokens: 0, usageSource: 'headers' });
  });

  it('embed with Nova embeddings: the record has the billed input tokens', async () => {
    const { bedrock, records } = provider(scripted([jsonAnswer({ embeddings: [{ embeddingType: 'TEXT', embedding: [0.5, 0.5] }], inputTokenCount: 4 }, [4, 0])]));
    await embed({ model: bedrock.embedding('amazon.nova-2-multimodal-embeddings-v1:0'), value: 'hello' });
    expect(records[0]).toMatchObject({ operation: 'InvokeModel', inputTokens: 4, outputTokens: 0 });
  });

  it('a tool call: each model round trip is its own Converse record', async () => {
    const toolUse = { output: { message: { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'weather', input: { city: 'Paris' } } }] } }, stopReason: 'tool_use', usage: { inputTokens: 120, outputTokens: 15, totalTokens: 135 } };
    const answer = { output: { message: { role: 'assistant', content: [{ text: 'Sunny.' }] } }, stopReason: 'end_turn', usage: { inputTokens: 160, outputTokens: 4, totalTokens: 164 } };
    const { bedrock, records } = provider(scripted([jsonAnswer(toolUse), jsonAnswer(answer)]));
    const result = await generateText({
      model: bedrock(NOVA),
      prompt: 'Weather in Paris?',
      tools: { weather: tool({ description: 'Weather by city', inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }), execute: async () => ({ sky: 'sunny' }) }) },
      stopWhen: stepCountIs(3),
    });
    expect(result.text).toBe('Sunny.');
    expect(records.map((r) => [r.operation, r.inputTokens, r.outputTokens])).toEqual([
      ['Converse', 120, 15],
      ['Converse', 160, 4],
    ]);
  });
});

describe('the AI SDK example', () => {
  it('runs against the simulator and prints one attributed record per call', () => {
    const root = resolve(import.meta.dirname, '../..');
    const out = execFileSync(join(root, 'node_modules/.bin/tsx'), [join(root, 'examples/ai-sdk.ts')], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { operation: string; attribution: unknown; output: number; costUsd: number });
    expect(lines.map((l) => l.operation)).toEqual(['Converse', 'ConverseStream']);
    expect(lines.every((l) => l.output === 64 && l.costUsd > 0)).toBe(true);
    expect(lines[0]!.attribution).toEqual({ team: 'search', feature: 'chat' });
  });
});
