import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import type { QuotaRule } from '../../src/quotas/index.js';
import { burst, burstCall, GOVERNOR_NEED, quotaClient, quotaSimulator, sleep, SONNET } from '../helpers/quota-burst.js';

const WINDOW_MS = 500;
const FITS = 10;
const QUOTA = GOVERNOR_NEED * FITS + GOVERNOR_NEED - 1;
const quota = (more: Partial<QuotaRule> = {}): QuotaRule => ({ name: 'sonnet', match: { model: 'anthropic.claude-sonnet-4*' }, tokensPerMinute: QUOTA, windowMs: WINDOW_MS, onLimit: 'reject', ...more });

async function collect(reader: PeriodicExportingMetricReader): Promise<MetricData[]> {
  const { resourceMetrics } = (await reader.collect()) as { resourceMetrics: ResourceMetrics };
  return resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
}
const points = (all: MetricData[], name: string) => (all.find((m) => m.descriptor.name === name)?.dataPoints ?? []).map((p) => ({ attrs: p.attributes, value: p.value as number }));

describe('the governor learns from Bedrock', () => {
  it('believes less room for a while after an on-demand 429 (the account quota is smaller than configured), so the next burst draws fewer throttles', async () => {
    // Configured twice what the account really has.
    const engine = quotaSimulator(QUOTA, WINDOW_MS);
    const { client, finops } = quotaClient(engine, { quotas: [quota({ tokensPerMinute: 2 * QUOTA, windowMs: WINDOW_MS, onLimit: 'wait', maxWaitMs: 20 * WINDOW_MS })] });
    const first = await burst(2 * FITS, () => burstCall(client));
    expect(first.throttled).toBeGreaterThan(0);
    const [after] = finops?.quotas.status() ?? [];
    expect(after?.believedLimit.tokens).toBeLessThan(after?.limit.tokens ?? 0);
    await sleep(WINDOW_MS);
    const second = await burst(2 * FITS, () => burstCall(client));
    expect(second.throttled).toBeLessThan(first.throttled);
    // It grows back to the configured limit within two windows of the last throttle.
    await sleep(2 * WINDOW_MS + 50);
    expect(finops?.quotas.status()[0]?.believedLimit.tokens).toBe(2 * QUOTA);
  });

  it('charges a provisioned call that spilled to on-demand to the on-demand quota (it was never held: provisioned throughput is outside the quota)', async () => {
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/quota0spill';
    const engine = quotaSimulator(QUOTA, WINDOW_MS, { provisioned: { [arn]: { model: SONNET, tokensPerMinute: 1 } } });
    const { client, finops, records } = quotaClient(engine, { provisioned: { [arn]: { model: SONNET, fallback: SONNET } }, quotas: [quota()] });
    await burstCall(client, 'search', arn);
    expect(records[0]).toMatchObject({ requestedModelId: arn, modelId: SONNET, fallback: { from: arn, reason: 'ThrottlingException' } });
    const r = records[0];
    expect(finops?.quotas.status()[0]?.inUse).toEqual({ tokens: (r?.inputTokens ?? 0) + (r?.outputTokens ?? 0) * 5, requests: 1 });
  });

  it('exports quota in use, the believed limit, waits, refusals and throttles avoided and seen', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const meterProvider = new MeterProvider({ readers: [reader] });
    const engine = quotaSimulator(QUOTA, WINDOW_MS);
    const { client } = quotaClient(engine, { meterProvider, quotas: [quota({ name: 'waiting', onLimit: 'wait', maxWaitMs: 10 * WINDOW_MS }), quota({ name: 'nova', match: { model: 'amazon.nova-*' } })] });
    expect(await burst(2 * FITS, () => burstCall(client))).toMatchObject({ served: 2 * FITS });
    const all = await collect(reader);
    expect(points(all, 'bedrock_finops.quota.waits').find((p) => p.attrs['bedrock_finops.outcome'] === 'admitted')?.value).toBeGreaterThanOrEqual(FITS - 1);
    expect(points(all, 'bedrock_finops.quota.throttles').find((p) => p.attrs['bedrock_finops.outcome'] === 'avoided')?.value).toBeGreaterThanOrEqual(FITS - 1);
    expect(points(all, 'bedrock_finops.quota.throttles').find((p) => p.attrs['bedrock_finops.outcome'] === 'seen')?.value).toBe(0);
    expect(points(all, 'bedrock_finops.quota.limit').find((p) => p.attrs['bedrock_finops.quota'] === 'waiting')?.value).toBe(QUOTA);
    const inUse = points(all, 'bedrock_finops.quota.in_use').find((p) => p.attrs['bedrock_finops.quota'] === 'waiting' && p.attrs['bedrock_finops.quota.unit'] === 'tokens');
    expect(inUse?.value).toBeGreaterThan(0);
    expect(points(all, 'bedrock_finops.quota.wait.time')[0]?.value).toBeGreaterThan(0);
    await meterProvider.shutdown();
  });

  it("counts refusals by reason ('reject')", async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const meterProvider = new MeterProvider({ readers: [reader] });
    const engine = quotaSimulator(QUOTA, WINDOW_MS);
    const { client } = quotaClient(engine, { meterProvider, quotas: [quota()] });
    const r = await burst(2 * FITS, () => burstCall(client));
    const all = await collect(reader);
    expect(points(all, 'bedrock_finops.quota.refusals')).toEqual([{ attrs: { 'bedrock_finops.quota': 'sonnet', 'bedrock_finops.reason': 'limit' }, value: r.refused }]);
    await meterProvider.shutdown();
  });
});
