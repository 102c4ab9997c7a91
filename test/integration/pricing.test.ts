import { ConverseCommand, ConverseStreamCommand, InvokeModelCommand, InvokeModelWithResponseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps, type BedrockFinOpsOptions, type UsageRecord } from '../../src/index.js';
import { converseStreamEvent, invokeStreamChunk } from '../../src/testing/index.js';
import { eventStream, json, jsonBody, makeClient, useMockBedrock, on, drain } from '../helpers/bedrock.js';

const server = useMockBedrock();

const PROVISIONED = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123def456';
const APP_PROFILE = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/k2j4h5g6f7d8';

/** Published on-demand prices, USD per million tokens (Amazon Bedrock pricing page, us-east-1). */
interface Published {
  input: number;
  output: number;
  cacheRead?: number;
  cacheWrite?: number;
}

interface Row {
  name: string;
  modelId: string;
  published: Published;
  usage?: { inputTokens: number; outputTokens: number; cacheReadInputTokens?: number; cacheWriteInputTokens?: number };
  options?: BedrockFinOpsOptions;
  provisioned?: boolean;
}

const U = { inputTokens: 123_457, outputTokens: 6_789 };
const CACHED = { inputTokens: 2_048, outputTokens: 512, cacheReadInputTokens: 100_000, cacheWriteInputTokens: 4_096 };

const TABLE: Row[] = [
  { name: 'Claude 3 Haiku, bare in-region id', modelId: 'anthropic.claude-3-haiku-20240307-v1:0', published: { input: 0.25, output: 1.25 } },
  { name: 'Claude 3.5 Haiku, US profile, with cache', modelId: 'us.anthropic.claude-3-5-haiku-20241022-v1:0', published: { input: 0.8, output: 4, cacheRead: 0.08, cacheWrite: 1 }, usage: CACHED },
  { name: 'Claude Sonnet 4.5, global profile, with cache', modelId: 'global.anthropic.claude-sonnet-4-5-20250929-v1:0', published: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 }, usage: CACHED },
  { name: 'Claude Sonnet 4.5, US profile (10% over global)', modelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', published: { input: 3.3, output: 16.5, cacheRead: 0.33, cacheWrite: 4.125 }, usage: CACHED },
  { name: 'Claude 3.7 Sonnet, EU system profile ARN', modelId: 'arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.anthropic.claude-3-7-sonnet-20250219-v1:0', published: { input: 3, output: 15 } },
  { name: 'Nova Pro, with cache read', modelId: 'amazon.nova-pro-v1:0', published: { input: 0.8, output: 3.2, cacheRead: 0.2 }, usage: { inputTokens: 5_000, outputTokens: 700, cacheReadInputTokens: 20_000 } },
  { name: 'Nova Lite, US profile', modelId: 'us.amazon.nova-lite-v1:0', published: { input: 0.06, output: 0.24 } },
  { name: 'Nova Micro', modelId: 'amazon.nova-micro-v1:0', published: { input: 0.035, output: 0.14 } },
  { name: 'Llama 3.1 70B', modelId: 'meta.llama3-1-70b-instruct-v1:0', published: { input: 0.72, output: 0.72 } },
  { name: 'Llama 3 8B', modelId: 'meta.llama3-8b-instruct-v1:0', published: { input: 0.3, output: 0.6 } },
  { name: 'Titan Text Express', modelId: 'amazon.titan-text-express-v1', published: { input: 0.2, output: 0.6 } },
  { name: 'Titan Text Embeddings V2', modelId: 'amazon.titan-embed-text-v2:0', published: { input: 0.02, output: 0 }, usage: { inputTokens: 812_345, outputTokens: 0 } },
  { name: 'gpt-oss-120b', modelId: 'openai.gpt-oss-120b-1:0', published: { input: 0.15, output: 0.6 } },
  { name: 'DeepSeek-R1, US profile', modelId: 'us.deepseek.r1-v1:0', published: { input: 1.35, output: 5.4 } },
  { name: 'Mistral Large (24.07)', modelId: 'mistral.mistral-large-2407-v1:0', published: { input: 2, output: 6 } },
  { name: 'Cohere Command R', modelId: 'cohere.command-r-v1:0', published: { input: 0.5, output: 1.5 } },
  {
    name: 'application inference profile mapped with `models`',
    modelId: APP_PROFILE,
    published: { input: 0.8, output: 3.2 },
    options: { models: { [APP_PROFILE]: 'us.amazon.nova-pro-v1:0' } },
  },
];

function expectedUsd(p: Published, u: NonNullable<Row['usage']>): number {
  return (u.inputTokens * p.input + u.outputTokens * p.output + (u.cacheReadInputTokens ?? 0) * (p.cacheRead ?? p.input) + (u.cacheWriteInputTokens ?? 0) * (p.cacheWrite ?? p.input)) / 1e6;
}

function converseReturning(usage: NonNullable<Row['usage']>, extra: Record<string, unknown> = {}) {
  return () =>
    json({
      output: { message: { role: 'assistant', content: [{ text: 'x' }] } },
      stopReason: 'end_turn',
      usage: { ...usage, totalTokens: usage.inputTokens + usage.outputTokens + (usage.cacheReadInputTokens ?? 0) + (usage.cacheWriteInputTokens ?? 0) },
      ...extra,
    });
}

async function converseRecord(modelId: string, options: BedrockFinOpsOptions, usage: NonNullable<Row['usage']>, extra: Record<string, unknown> = {}): Promise<UsageRecord> {
  const records: UsageRecord[] = [];
  server.use(on('converse', converseReturning(usage, extra)));
  const client = makeClient(bedrockFinOps({ ...options, onUsage: (r) => records.push(r) }));
  await client.send(new ConverseCommand({ modelId, messages: [{ role: 'user', content: [{ text: 'x' }] }] }));
  return records[0]!;
}

describe('pricing', () => {
  it.each(TABLE)('prices $name at its published rates', async (row) => {
    const usage = row.usage ?? U;
    const record = await converseRecord(row.modelId, row.options ?? {}, usage);
    expect(record.costUsd).toBeDefined();
    expect(Math.abs(record.costUsd! - expectedUsd(row.published, usage))).toBeLessThan(1e-9);
    expect(record.onDemandEquivalentUsd).toBeUndefined();
  });

  it('charges a provisioned call 0 and reports its on-demand equivalent at the model it serves', async () => {
    const record = await converseRecord(PROVISIONED, { provisioned: { [PROVISIONED]: { model: 'us.anthropic.claude-3-5-haiku-20241022-v1:0' } } }, CACHED);
    expect(record.costUsd).toBe(0);
    expect(Math.abs(record.onDemandEquivalentUsd! - expectedUsd({ input: 0.8, output: 4, cacheRead: 0.08, cacheWrite: 1 }, CACHED))).toBeLessThan(1e-9);
    expect(record.baseModelId).toBe('anthropic.claude-3-5-haiku-20241022-v1:0');
  });

  it('prices one-hour cache writes at twice the input rate and five-minute writes at the cache-write rate', async () => {
    const usage = { inputTokens: 1_000, outputTokens: 100, cacheWriteInputTokens: 30_000, cacheReadInputTokens: 0 };
    const record = await converseRecord('global.anthropic.claude-sonnet-4-5-20250929-v1:0', {}, usage, {});
    const withDetails = await (async () => {
      const records: UsageRecord[] = [];
      server.use(
        on('converse', () =>
          json({
            output: { message: { role: 'assistant', content: [] } },
            stopReason: 'end_turn',
            usage: { ...usage, totalTokens: 31_100, cacheDetails: [{ ttl: '1h', inputTokens: 20_000 }, { ttl: '5m', inputTokens: 10_000 }] },
          }),
        ),
      );
      const client = makeClient(bedrockFinOps({ onUsage: (r) => records.push(r) }));
      await client.send(new ConverseCommand({ modelId: 'global.anthropic.claude-sonnet-4-5-20250929-v1:0', messages: [{ role: 'user', content: [{ text: 'x' }] }] }));
      return records[0]!;
    })();
    expect(record.costUsd! - (1_000 * 3 + 100 * 15 + 30_000 * 3.75) / 1e6).toBeCloseTo(0, 9);
    expect(withDetails.cacheWrite1hInputTokens).toBe(20_000);
    expect(Math.abs(withDetails.costUsd! - (1_000 * 3 + 100 * 15 + 10_000 * 3.75 + 20_000 * 6) / 1e6)).toBeLessThan(1e-9);
  });

  it('applies the service tier the response reports, with configurable multipliers', async () => {
    const base = expectedUsd({ input: 0.8, output: 3.2 }, U);
    const priority = await converseRecord('amazon.nova-pro-v1:0', {}, U, { serviceTier: { type: 'priority' } });
    const flex = await converseRecord('amazon.nova-pro-v1:0', {}, U, { serviceTier: { type: 'flex' } });
    const custom = await converseRecord('amazon.nova-pro-v1:0', { pricing: { serviceTiers: { flex: 0.6 } } }, U, { serviceTier: { type: 'flex' } });
    expect(priority.serviceTier).toBe('priority');
    expect(Math.abs(priority.costUsd! - base * 1.75)).toBeLessThan(1e-9);
    expect(Math.abs(flex.costUsd! - base * 0.5)).toBeLessThan(1e-9);
    expect(Math.abs(custom.costUsd! - base * 0.6)).toBeLessThan(1e-9);
  });

  it('uses per-model overrides over the catalog, and a global discount on everything', async () => {
    const overridden = await converseRecord('amazon.nova-pro-v1:0', { pricing: { overrides: { 'amazon.nova-pro-v1:0': { input: 0.5, output: 2 } } } }, U);
    expect(Math.abs(overridden.costUsd! - (U.inputTokens * 0.5 + U.outputTokens * 2) / 1e6)).toBeLessThan(1e-9);
    const discounted = await converseRecord('amazon.nova-pro-v1:0', { pricing: { discount: 0.12 } }, U);
    expect(Math.abs(discounted.costUsd! - expectedUsd({ input: 0.8, output: 3.2 }, U) * 0.88)).toBeLessThan(1e-9);
    const custom = await converseRecord('arn:aws:bedrock:us-east-1:123456789012:imported-model/my-llama', { pricing: { overrides: { 'arn:aws:bedrock:us-east-1:123456789012:imported-model/my-llama': { input: 1, output: 1 } } } }, U);
    expect(Math.abs(custom.costUsd! - (U.inputTokens + U.outputTokens) / 1e6)).toBeLessThan(1e-9);
  });

  it('leaves costUsd undefined for a model with no known price, and keeps metering', async () => {
    const record = await converseRecord('arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/xyz', {}, U);
    expect(record.costUsd).toBeUndefined();
    expect(record.inputTokens).toBe(U.inputTokens);
  });

  it('prices every operation: ConverseStream, InvokeModel and InvokeModelWithResponseStream', async () => {
    const records: UsageRecord[] = [];
    server.use(
      on('converse-stream', () =>
        eventStream([converseStreamEvent('messageStart', { role: 'assistant' }), converseStreamEvent('metadata', { usage: { inputTokens: 1_000, outputTokens: 200, totalTokens: 1_200 }, metrics: { latencyMs: 1 } })]),
      ),
      on('invoke', () => json({ generation: 'x' }, { 'x-amzn-bedrock-input-token-count': '3000', 'x-amzn-bedrock-output-token-count': '400' })),
      on('invoke-with-response-stream', () =>
        eventStream([invokeStreamChunk({ generation: 'x', 'amazon-bedrock-invocationMetrics': { inputTokenCount: 5_000, outputTokenCount: 600, invocationLatency: 1, firstByteLatency: 1 } })]),
      ),
    );
    const client = makeClient(bedrockFinOps({ onUsage: (r) => records.push(r) }));
    const s = await client.send(new ConverseStreamCommand({ modelId: 'meta.llama3-1-70b-instruct-v1:0', messages: [{ role: 'user', content: [{ text: 'x' }] }] }));
    await drain(s.stream);
    await client.send(new InvokeModelCommand({ modelId: 'meta.llama3-1-70b-instruct-v1:0', body: jsonBody({ prompt: 'x' }) }));
    const r = await client.send(new InvokeModelWithResponseStreamCommand({ modelId: 'meta.llama3-1-70b-instruct-v1:0', body: jsonBody({ prompt: 'x' }) }));
    await drain(r.body);
    expect(records.map((x) => x.operation)).toEqual(['ConverseStream', 'InvokeModel', 'InvokeModelWithResponseStream']);
    const expected = [1_200 * 0.72, 3_400 * 0.72, 5_600 * 0.72].map((v) => v / 1e6);
    records.forEach((rec, i) => expect(Math.abs(rec.costUsd! - expected[i]!)).toBeLessThan(1e-9));
  });
});
