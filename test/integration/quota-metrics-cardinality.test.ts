import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps, withAttribution } from '../../src/index.js';
import { converseReply, makeClient, on, useMockBedrock } from '../helpers/bedrock.js';

/**
 * A quota shared per tenant reports its use per share key: the keys are attribution values from
 * requests, so `maxValuesPerKey` bounds them as it bounds every other metric (before: up to 257
 * series per quota whatever the option said).
 */
const server = useMockBedrock();

describe('quota metrics under many tenants', () => {
  it('reports the first maxValuesPerKey share keys by name and sums the rest into _OTHER (nothing lost: the total is the quota in use)', async () => {
    server.use(on('converse', () => converseReply({ inputTokens: 10, outputTokens: 5 })));
    const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 });
    const finops = bedrockFinOps({
      meterProvider: new MeterProvider({ readers: [reader] }),
      maxValuesPerKey: 2,
      quotas: [{ name: 'q', match: { model: 'amazon.nova*' }, tokensPerMinute: 1_000_000, shares: { per: 'tenant' } }],
    });
    const client = makeClient(finops, { maxAttempts: 1 });
    for (const tenant of ['a', 'b', 'c', 'd', 'e'])
      await withAttribution({ tenant }, () => client.send(new ConverseCommand({ modelId: 'amazon.nova-micro-v1:0', messages: [{ role: 'user', content: [{ text: 'hi' }] }] })));
    const { resourceMetrics } = (await reader.collect()) as { resourceMetrics: ResourceMetrics };
    const inUse = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === 'bedrock_finops.quota.in_use');
    const byKey = new Map((inUse?.dataPoints ?? []).filter((p) => p.attributes['bedrock_finops.quota.key'] !== undefined).map((p) => [p.attributes['bedrock_finops.quota.key'], p.value as number]));
    // Before: five series (a … e). Charged: 15 quota tokens per call (burndown 1).
    expect(byKey).toEqual(new Map([['a', 15], ['b', 15], ['_OTHER', 45]]));
    expect(finops.quotas.status()[0]?.inUse.tokens).toBe(75);
    await finops.shutdown();
  });
});
