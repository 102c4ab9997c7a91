import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps, type BedrockFinOpsOptions, type RequestSigner } from '../../src/index.js';
import { awsError, json, recorder } from '../helpers/bedrock.js';
import { bedrockUrl, converseRequest, fakeFetch, post, sigV4 } from '../helpers/fetch.js';

const ARN = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123def456';
const FALLBACK = 'us.anthropic.claude-3-haiku-20240307-v1:0';
const reply = () => json({ output: { message: { role: 'assistant', content: [{ text: 'ok' }] } }, stopReason: 'end_turn', usage: { inputTokens: 700, outputTokens: 50, totalTokens: 750 } });

/** A Bedrock stand-in: the provisioned model answers `provisioned()`, everything else succeeds. It keeps every request it got. */
function bedrock(provisioned: () => Response) {
  const base = fakeFetch((input) => {
    const url = input instanceof Request ? input.url : String(input);
    return url.includes(encodeURIComponent(ARN)) ? provisioned() : reply();
  });
  const urls = () => base.calls.map((c) => decodeURIComponent(new URL(c.input instanceof Request ? c.input.url : String(c.input)).pathname.split('/')[2]!));
  return { ...base, urls };
}

function setup(options: BedrockFinOpsOptions = {}) {
  const { records, onUsage } = recorder();
  const finops = bedrockFinOps({ provisioned: { [ARN]: { model: 'anthropic.claude-3-haiku-20240307-v1:0', fallback: FALLBACK, modelUnits: 2 } }, ...options, onUsage });
  return { finops, records };
}

const apiKey = () => post(converseRequest(), { authorization: 'Bearer bedrock-api-key' });

describe('fetch: provisioned spill', () => {
  it('re-issues a throttled provisioned call once to its on-demand fallback, with the same body and headers, and records what served it', async () => {
    const net = bedrock(() => awsError(429, 'ThrottlingException'));
    const { finops, records } = setup();
    const response = await finops.wrapFetch(net.fetch)(bedrockUrl(ARN, 'converse'), apiKey());
    expect(response.status).toBe(200);
    expect(net.urls()).toEqual([ARN, FALLBACK]);
    const second = net.calls[1]!.input as Request;
    expect(second.headers.get('authorization')).toBe('Bearer bedrock-api-key');
    expect(await second.text()).toBe(JSON.stringify(converseRequest()));
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ requestedModelId: ARN, modelId: FALLBACK, fallback: { from: ARN, reason: 'ThrottlingException' }, outcome: 'success', inputTokens: 700 });
  });

  it('sends calls straight to the fallback while the breaker is open', async () => {
    const net = bedrock(() => awsError(429, 'ThrottlingException'));
    const { finops, records } = setup();
    const metered = finops.wrapFetch(net.fetch);
    await metered(bedrockUrl(ARN, 'converse'), apiKey());
    await metered(bedrockUrl(ARN, 'converse'), apiKey());
    expect(net.urls()).toEqual([ARN, FALLBACK, FALLBACK]);
    expect(records[1]).toMatchObject({ modelId: FALLBACK, fallback: { from: ARN, reason: 'breaker-open' } });
  });

  it('returns any other error of the provisioned model as it is, and keeps sending to it', async () => {
    const net = bedrock(() => awsError(400, 'ValidationException'));
    const { finops, records } = setup();
    const metered = finops.wrapFetch(net.fetch);
    expect((await metered(bedrockUrl(ARN, 'converse'), apiKey())).status).toBe(400);
    await metered(bedrockUrl(ARN, 'converse'), apiKey());
    expect(net.urls()).toEqual([ARN, ARN]);
    expect(records[0]).toMatchObject({ modelId: ARN, fallback: undefined, outcome: 'error', error: 'ValidationException' });
  });

  it('does not re-address a SigV4-signed call it cannot sign again: the caller gets the 429, nothing spills', async () => {
    const net = bedrock(() => awsError(429, 'ThrottlingException'));
    const { finops, records } = setup();
    const response = await finops.wrapFetch(net.fetch)(bedrockUrl(ARN, 'converse'), post(converseRequest(), { authorization: sigV4() }));
    expect(response.status).toBe(429);
    expect(net.urls()).toEqual([ARN]);
    expect(records[0]).toMatchObject({ modelId: ARN, fallback: undefined, outcome: 'error', error: 'ThrottlingException' });
  });

  it('re-signs a SigV4-signed call with the sign option before sending it to the fallback', async () => {
    const net = bedrock(() => awsError(429, 'ThrottlingException'));
    const seen: { url: string; authorization: string | null }[] = [];
    const sign: RequestSigner = (request) => {
      seen.push({ url: request.url, authorization: request.headers.get('authorization') });
      const headers = new Headers(request.headers);
      headers.set('authorization', sigV4());
      return new Request(request, { headers });
    };
    const { finops, records } = setup();
    const response = await finops.wrapFetch(net.fetch, { sign })(bedrockUrl(ARN, 'converse'), post(converseRequest(), { authorization: sigV4(), 'x-amz-date': '20260101T000000Z' }));
    expect(response.status).toBe(200);
    expect(seen).toEqual([{ url: bedrockUrl(FALLBACK, 'converse'), authorization: null }]);
    expect(net.urls()).toEqual([ARN, FALLBACK]);
    expect(records[0]).toMatchObject({ modelId: FALLBACK, fallback: { from: ARN, reason: 'ThrottlingException' } });
  });

  it('answers with the provisioned 429 when re-signing fails, rather than failing the call', async () => {
    const net = bedrock(() => awsError(429, 'ThrottlingException'));
    const { finops, records } = setup();
    const sign: RequestSigner = () => Promise.reject(new Error('no credentials'));
    const response = await finops.wrapFetch(net.fetch, { sign })(bedrockUrl(ARN, 'converse'), post(converseRequest(), { authorization: sigV4() }));
    expect(response.status).toBe(429);
    expect(records[0]).toMatchObject({ modelId: ARN, outcome: 'error', error: 'ThrottlingException' });
  });

  it('counts throttles and fallbacks in the same routing metrics as the SDK path', async () => {
    const net = bedrock(() => awsError(429, 'ThrottlingException'));
    const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 });
    const { finops } = setup({ meterProvider: new MeterProvider({ readers: [reader] }) });
    await finops.wrapFetch(net.fetch)(bedrockUrl(ARN, 'converse'), apiKey());
    const { resourceMetrics } = await reader.collect();
    const all = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    const points = (name: string) => all.find((m) => m.descriptor.name === name)?.dataPoints.map((p) => ({ ...p.attributes, value: p.value as number })) ?? [];
    expect(points('bedrock_finops.fallbacks')).toEqual([{ 'bedrock_finops.fallback.from': ARN, 'bedrock_finops.fallback.to': FALLBACK, 'bedrock_finops.reason': 'ThrottlingException', value: 1 }]);
    expect(points('bedrock_finops.throttles')).toEqual([{ 'gen_ai.request.model': ARN, 'error.type': 'ThrottlingException', value: 1 }]);
  });
});
