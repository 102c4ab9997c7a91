import { ConverseCommand, ConverseStreamCommand, InvokeModelCommand, InvokeModelWithResponseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bedrockFinOps, type BedrockFinOpsOptions, type UsageRecord } from '../../src/index.js';
import { converseStreamEvent, invokeStreamChunk, streamException } from '../../src/testing/index.js';
import { awsError, eventStream, json, jsonBody, makeClient, useMockBedrock, on, converseReply, drain } from '../helpers/bedrock.js';

const server = useMockBedrock();
afterEach(() => {
  vi.useRealTimers();
});

const ARN = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123def456';
const SERVES = 'anthropic.claude-3-5-haiku-20241022-v1:0';
const FALLBACK = 'us.anthropic.claude-3-5-haiku-20241022-v1:0';
const provisioned = { [ARN]: { model: SERVES, fallback: FALLBACK, modelUnits: 2 } };
const input = { modelId: ARN, messages: [{ role: 'user' as const, content: [{ text: 'hi' }] }], inferenceConfig: { maxTokens: 100 } };
const ok = (usage = { inputTokens: 1000, outputTokens: 100 }) =>
  converseReply(usage);

/** A Bedrock whose provisioned endpoint answers with `provisionedAnswer` and on-demand with 200; counts requests per model. */
function bedrock(provisionedAnswer: () => ReturnType<typeof ok>) {
  const requests: string[] = [];
  server.use(
    on('converse', ({ params }) => {
      const id = decodeURIComponent(params.modelId);
      requests.push(id);
      return id === ARN ? provisionedAnswer() : ok();
    }),
  );
  return requests;
}

function setup(extra: BedrockFinOpsOptions = {}) {
  const records: UsageRecord[] = [];
  const finops = bedrockFinOps({ provisioned, ...extra, onUsage: (r) => records.push(r) });
  return { records, finops, client: makeClient(finops, { maxAttempts: 3 }) };
}

const throttled = () => awsError(429, 'ThrottlingException', 'Too many tokens');

describe('provisioned → on-demand fallback', () => {
  it('sends exactly one provisioned request, then one on-demand request, without SDK backoff', async () => {
    const requests = bedrock(throttled);
    const { client, records } = setup();
    const out = await client.send(new ConverseCommand(input));
    expect(requests).toEqual([ARN, FALLBACK]);
    expect(out.$metadata.totalRetryDelay ?? 0).toBe(0);
    expect(out.$metadata.attempts).toBe(1);
    expect(records).toHaveLength(1);
    // Priced at what served it: Claude 3.5 Haiku on a US profile, $0.80 / $4 per million.
    expect(records[0]).toMatchObject({ requestedModelId: ARN, modelId: FALLBACK, modelKind: 'inference-profile', fallback: { from: ARN, reason: 'ThrottlingException' }, outcome: 'success', inputTokens: 1000, outputTokens: 100 });
    expect(records[0]!.costUsd).toBeCloseTo((1000 * 0.8 + 100 * 4) / 1e6, 12);
  });

  it('also spills on ModelNotReadyException, and never on other errors', async () => {
    let answer: () => ReturnType<typeof ok> = () => awsError(429, 'ModelNotReadyException', 'warming up');
    const requests = bedrock(() => answer());
    const { client, records } = setup();
    await client.send(new ConverseCommand(input));
    expect(requests).toEqual([ARN, FALLBACK]);
    expect(records[0]?.fallback).toEqual({ from: ARN, reason: 'ModelNotReadyException' });
    requests.length = 0;
    answer = () => awsError(400, 'ValidationException', 'bad');
    const fresh = setup();
    await expect(fresh.client.send(new ConverseCommand(input))).rejects.toMatchObject({ name: 'ValidationException' });
    expect(requests).toEqual([ARN]);
  });

  it('leaves a provisioned model without a fallback to the SDK’s own retries', async () => {
    const requests = bedrock(throttled);
    const { client } = setup({ provisioned: { [ARN]: { model: SERVES } } });
    await expect(client.send(new ConverseCommand(input))).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect(requests).toEqual([ARN, ARN, ARN]);
  }, 20_000);

  it('opens a breaker shared by every client: calls go straight to the fallback until the cooldown, then one probe closes it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.UTC(2026, 10, 26, 12));
    let saturated = true;
    const requests = bedrock(() => (saturated ? throttled() : ok()));
    const finops = bedrockFinOps({ provisioned, fallback: { cooldownMs: 5_000 } });
    const a = makeClient(finops);
    const b = makeClient(finops);
    await a.send(new ConverseCommand(input));
    expect(requests.splice(0)).toEqual([ARN, FALLBACK]);
    await b.send(new ConverseCommand(input));
    await a.send(new ConverseCommand(input));
    expect(requests.splice(0)).toEqual([FALLBACK, FALLBACK]);
    vi.setSystemTime(Date.UTC(2026, 10, 26, 12, 0, 5));
    saturated = false;
    await b.send(new ConverseCommand(input));
    expect(requests.splice(0)).toEqual([ARN]);
    await a.send(new ConverseCommand(input));
    expect(requests.splice(0)).toEqual([ARN]);
  });

  it('re-opens the breaker when the probe is throttled too', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.UTC(2026, 10, 26, 12));
    const requests = bedrock(throttled);
    const { client } = setup({ fallback: { cooldownMs: 1_000 } });
    await client.send(new ConverseCommand(input));
    vi.setSystemTime(Date.UTC(2026, 10, 26, 12, 0, 1));
    await client.send(new ConverseCommand(input));
    await client.send(new ConverseCommand(input));
    expect(requests).toEqual([ARN, FALLBACK, ARN, FALLBACK, FALLBACK]);
  });

  it('serves all of 200 concurrent calls during saturation', async () => {
    const requests = bedrock(throttled);
    const { client, records } = setup();
    const results = await Promise.allSettled(Array.from({ length: 200 }, () => client.send(new ConverseCommand(input))));
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(requests.filter((r) => r === FALLBACK)).toHaveLength(200);
    expect(requests.filter((r) => r === ARN).length).toBeLessThanOrEqual(200);
    expect(records).toHaveLength(200);
    expect(records.every((r) => r.modelId === FALLBACK && r.fallback?.from === ARN)).toBe(true);
  }, 60_000);

  it('charges the budget once, at the usage of the model that served it', async () => {
    bedrock(throttled);
    const { client, finops } = setup({ estimator: () => 1000, budgets: [{ name: 'b', limit: { tokens: 10_000 }, window: 'day' }] });
    await client.send(new ConverseCommand(input));
    const [status] = await finops.budgets.status();
    expect(status).toMatchObject({ used: { tokens: 1100 }, reserved: { tokens: 0 } });
  });

  it('spills InvokeModel too, re-sending the same body', async () => {
    const seen: [string, string][] = [];
    server.use(
      on('invoke', async ({ params, request }) => {
        const id = decodeURIComponent(params.modelId);
        seen.push([id, await request.text()]);
        return id === ARN ? throttled() : json({ content: [], usage: { input_tokens: 5, output_tokens: 6 } });
      }),
    );
    const { client, records } = setup();
    const body = JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    await client.send(new InvokeModelCommand({ modelId: ARN, body: jsonBody(JSON.parse(body)) }));
    expect(seen).toEqual([
      [ARN, body],
      [FALLBACK, body],
    ]);
    expect(records[0]).toMatchObject({ modelId: FALLBACK, inputTokens: 5, outputTokens: 6 });
  });

  it('spills a stream throttled before its first event', async () => {
    const requests: string[] = [];
    server.use(
      on('converse-stream', ({ params }) => {
        const id = decodeURIComponent(params.modelId);
        requests.push(id);
        return id === ARN
          ? throttled()
          : eventStream([converseStreamEvent('messageStart', { role: 'assistant' }), converseStreamEvent('metadata', { usage: { inputTokens: 3, outputTokens: 4, totalTokens: 7 }, metrics: { latencyMs: 1 } })]);
      }),
      on('invoke-with-response-stream', ({ params }) => {
        const id = decodeURIComponent(params.modelId);
        requests.push(id);
        return id === ARN ? throttled() : eventStream([invokeStreamChunk({ type: 'message_stop', 'amazon-bedrock-invocationMetrics': { inputTokenCount: 8, outputTokenCount: 9 } })]);
      }),
    );
    const { client, records } = setup();
    const s = await client.send(new ConverseStreamCommand(input));
    await drain(s.stream);
    const r = await client.send(new InvokeModelWithResponseStreamCommand({ modelId: ARN, body: jsonBody({ max_tokens: 5 }) }));
    await drain(r.body);
    expect(requests).toEqual([ARN, FALLBACK, FALLBACK]);
    expect(records.map((x) => [x.operation, x.modelId, x.fallback?.reason, x.inputTokens])).toEqual([
      ['ConverseStream', FALLBACK, 'ThrottlingException', 3],
      ['InvokeModelWithResponseStream', FALLBACK, 'breaker-open', 8],
    ]);
  });

  it('lets a throttle after the first event reach the caller, settling partial usage, without re-issuing', async () => {
    const requests: string[] = [];
    server.use(
      on('converse-stream', ({ params }) => {
        requests.push(decodeURIComponent(params.modelId));
        return eventStream([
          converseStreamEvent('messageStart', { role: 'assistant' }),
          converseStreamEvent('metadata', { usage: { inputTokens: 3, outputTokens: 4, totalTokens: 7 }, metrics: { latencyMs: 1 } }),
          streamException('throttlingException', 'too many tokens'),
        ]);
      }),
    );
    const { client, records } = setup();
    const s = await client.send(new ConverseStreamCommand(input));
    await expect(async () => {
      await drain(s.stream);
    }).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect(requests).toEqual([ARN]);
    expect(records[0]).toMatchObject({ modelId: ARN, fallback: undefined, outcome: 'error', error: 'ThrottlingException', inputTokens: 3, costUsd: 0 });
  });

  it('counts throttles and fallbacks by from / to, and provisioned tokens per minute against model units', async () => {
    let saturated = false;
    bedrock(() => (saturated ? throttled() : ok({ inputTokens: 700, outputTokens: 50 })));
    const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 });
    const { client } = setup({ meterProvider: new MeterProvider({ readers: [reader] }) });
    await client.send(new ConverseCommand(input));
    saturated = true;
    await client.send(new ConverseCommand(input));
    const { resourceMetrics } = await reader.collect();
    const all = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    const points = (name: string) => all.find((m) => m.descriptor.name === name)?.dataPoints.map((p) => ({ ...p.attributes, value: p.value as number })) ?? [];
    expect(points('bedrock_finops.fallbacks')).toEqual([{ 'bedrock_finops.fallback.from': ARN, 'bedrock_finops.fallback.to': FALLBACK, 'bedrock_finops.reason': 'ThrottlingException', value: 1 }]);
    expect(points('bedrock_finops.throttles')).toEqual([{ 'gen_ai.request.model': ARN, 'error.type': 'ThrottlingException', value: 1 }]);
    expect(points('bedrock_finops.provisioned.tokens_per_minute')).toEqual([{ 'bedrock_finops.provisioned.model': ARN, value: 750 }]);
    expect(points('bedrock_finops.provisioned.model_units')).toEqual([{ 'bedrock_finops.provisioned.model': ARN, value: 2 }]);
  });
});
