import { ConverseCommand, ConverseStreamCommand, InvokeModelCommand } from '@aws-sdk/client-bedrock-runtime';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type ResourceMetrics, type MetricData } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps, withAttribution } from '../../src/index.js';
import { converseStreamEvent } from '../../src/testing/index.js';
import { metricsHarness } from '../helpers/metrics-harness.js';
import { awsError, eventStream, json, jsonBody, makeClient, useMockBedrock, on, drain } from '../helpers/bedrock.js';

const server = useMockBedrock();


function metric(all: MetricData[], name: string): MetricData {
  const m = all.find((x) => x.descriptor.name === name);
  if (m === undefined) throw new Error(`no metric ${name}; have ${all.map((x) => x.descriptor.name).join(', ')}`);
  return m;
}

const MODEL = 'us.anthropic.claude-3-5-haiku-20241022-v1:0';
const input = { modelId: MODEL, messages: [{ role: 'user' as const, content: [{ text: 'SECRET PROMPT TEXT' }] }] };
const converseOk = (usage: Record<string, number>) => () =>
  json({ output: { message: { role: 'assistant', content: [{ text: 'SECRET COMPLETION TEXT' }] } }, stopReason: 'end_turn', usage });

describe('metrics', () => {
  it('records the GenAI histograms with semconv names, units, buckets and attributes', async () => {
    const h = metricsHarness();
    server.use(on('converse', converseOk({ inputTokens: 100, outputTokens: 20, cacheReadInputTokens: 50, cacheWriteInputTokens: 5, totalTokens: 175 })));
    const client = makeClient(bedrockFinOps({ meterProvider: h.meterProvider, attribution: { team: 'search' } }));
    await withAttribution({ feature: 'chat' }, () => client.send(new ConverseCommand(input)));
    const all = await h.collect();

    const usage = metric(all, 'gen_ai.client.token.usage');
    expect(usage.descriptor.unit).toBe('{token}');
    const points = usage.dataPoints.map((p) => ({ attrs: p.attributes, sum: (p.value as { sum: number }).sum }));
    const common = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'aws.bedrock',
      'gen_ai.request.model': MODEL,
      'gen_ai.response.model': MODEL,
      'server.address': 'bedrock-runtime.us-east-1.amazonaws.com',
      'server.port': 443,
      team: 'search',
      feature: 'chat',
    };
    expect(points).toEqual(
      expect.arrayContaining([
        { attrs: { ...common, 'gen_ai.token.type': 'input' }, sum: 155 },
        { attrs: { ...common, 'gen_ai.token.type': 'output' }, sum: 20 },
      ]),
    );
    expect((usage.dataPoints[0]!.value as { buckets: { boundaries: number[] } }).buckets.boundaries).toEqual([1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]);

    const duration = metric(all, 'gen_ai.client.operation.duration');
    expect(duration.descriptor.unit).toBe('s');
    expect(duration.dataPoints).toHaveLength(1);
    expect(duration.dataPoints[0]!.attributes).toEqual(common);
    expect((duration.dataPoints[0]!.value as { count: number }).count).toBe(1);
    expect(all.find((m) => m.descriptor.name === 'gen_ai.client.operation.time_to_first_chunk')?.dataPoints ?? []).toHaveLength(0);
  });

  it('sums the bedrock_finops counters per token type and outcome, input excluding cache', async () => {
    const h = metricsHarness();
    server.use(on('converse', converseOk({ inputTokens: 100, outputTokens: 20, cacheReadInputTokens: 50, cacheWriteInputTokens: 5, totalTokens: 175 })));
    const client = makeClient(bedrockFinOps({ meterProvider: h.meterProvider, attribution: { team: 'search' } }));
    for (let i = 0; i < 3; i++) await client.send(new ConverseCommand(input));
    const all = await h.collect();
    const tokens = metric(all, 'bedrock_finops.tokens');
    expect(tokens.descriptor.unit).toBe('{token}');
    const byType = Object.fromEntries(tokens.dataPoints.map((p) => [String(p.attributes['bedrock_finops.token.type']), p.value as number]));
    expect(byType).toEqual({ input: 300, output: 60, cache_read: 150, cache_write: 15 });
    expect(tokens.dataPoints[0]!.attributes.team).toBe('search');
    const calls = metric(all, 'bedrock_finops.calls');
    expect(calls.dataPoints.map((p) => [p.attributes['bedrock_finops.outcome'], p.value])).toEqual([['success', 3]]);
    // Claude 3.5 Haiku on a US profile: $0.80 in, $4 out, $0.08 cache read, $1 cache write per million.
    const cost = metric(all, 'bedrock_finops.cost');
    expect(cost.descriptor.unit).toBe('USD');
    expect(cost.dataPoints[0]!.value as number).toBeCloseTo((3 * (100 * 0.8 + 20 * 4 + 50 * 0.08 + 5 * 1)) / 1e6, 12);
  });

  it('adds error.type to the duration of a failed call and records no token usage for it', async () => {
    const h = metricsHarness();
    server.use(on('converse', () => awsError(400, 'ValidationException')));
    const client = makeClient(bedrockFinOps({ meterProvider: h.meterProvider }));
    await expect(client.send(new ConverseCommand(input))).rejects.toThrow();
    const all = await h.collect();
    expect(metric(all, 'gen_ai.client.operation.duration').dataPoints[0]!.attributes['error.type']).toBe('ValidationException');
    expect(all.find((m) => m.descriptor.name === 'gen_ai.client.token.usage')?.dataPoints ?? []).toHaveLength(0);
    expect(metric(all, 'bedrock_finops.calls').dataPoints.map((p) => [p.attributes['bedrock_finops.outcome'], p.value])).toEqual([['error', 1]]);
  });

  it('records time to first chunk for streams, and names InvokeModel operations by model family', async () => {
    const h = metricsHarness();
    server.use(
      on('converse-stream', () =>
        eventStream([converseStreamEvent('messageStart', { role: 'assistant' }), converseStreamEvent('metadata', { usage: { inputTokens: 3, outputTokens: 4, totalTokens: 7 }, metrics: { latencyMs: 1 } })]),
      ),
      on('invoke', ({ params }) =>
        decodeURIComponent(params.modelId).includes('embed')
          ? json({ embedding: [0.1], inputTextTokenCount: 7 })
          : json({ generation: 'x', prompt_token_count: 2, generation_token_count: 3 }),
      ),
    );
    const client = makeClient(bedrockFinOps({ meterProvider: h.meterProvider }));
    const out = await client.send(new ConverseStreamCommand(input));
    await drain(out.stream);
    await client.send(new InvokeModelCommand({ modelId: 'amazon.titan-embed-text-v2:0', body: jsonBody({ inputText: 'x' }) }));
    await client.send(new InvokeModelCommand({ modelId: 'meta.llama3-8b-instruct-v1:0', body: jsonBody({ prompt: 'x' }) }));
    const all = await h.collect();
    const ttfc = metric(all, 'gen_ai.client.operation.time_to_first_chunk');
    expect(ttfc.descriptor.unit).toBe('s');
    expect(ttfc.dataPoints).toHaveLength(1);
    const ops = metric(all, 'gen_ai.client.operation.duration').dataPoints.map((p) => [p.attributes['gen_ai.request.model'], p.attributes['gen_ai.operation.name']]);
    expect(ops).toEqual(
      expect.arrayContaining([
        [MODEL, 'chat'],
        ['amazon.titan-embed-text-v2:0', 'embeddings'],
        ['meta.llama3-8b-instruct-v1:0', 'text_completion'],
      ]),
    );
  });

  it('caps distinct attribution values per key: later values become _OTHER, records keep the truth', async () => {
    const h = metricsHarness();
    server.use(on('converse', converseOk({ inputTokens: 1, outputTokens: 1, totalTokens: 2 })));
    const tenants: string[] = [];
    const client = makeClient(bedrockFinOps({ meterProvider: h.meterProvider, maxValuesPerKey: 3, onUsage: (r) => tenants.push(r.attribution.tenant ?? '') }));
    for (let i = 0; i < 10; i++) await withAttribution({ tenant: `t${i}` }, () => client.send(new ConverseCommand(input)));
    const all = await h.collect();
    const calls = metric(all, 'bedrock_finops.calls').dataPoints.map((p) => [p.attributes.tenant, p.value]);
    expect(calls).toEqual(expect.arrayContaining([['t0', 1], ['t1', 1], ['t2', 1], ['_OTHER', 7]]));
    expect(calls).toHaveLength(4);
    expect(tenants).toEqual(Array.from({ length: 10 }, (_, i) => `t${i}`));
  });

  it('leaves attribution off the histograms when histogramAttribution is false, but not off the counters', async () => {
    const h = metricsHarness();
    server.use(on('converse', converseOk({ inputTokens: 1, outputTokens: 1, totalTokens: 2 })));
    const client = makeClient(bedrockFinOps({ meterProvider: h.meterProvider, histogramAttribution: false, attribution: { team: 'a' } }));
    await client.send(new ConverseCommand(input));
    const all = await h.collect();
    expect(metric(all, 'gen_ai.client.operation.duration').dataPoints[0]!.attributes.team).toBeUndefined();
    expect(metric(all, 'bedrock_finops.calls').dataPoints[0]!.attributes.team).toBe('a');
  });

  it('one attribution in two key orders is one counter series: no call goes missing', async () => {
    const h = metricsHarness();
    server.use(on('converse', converseOk({ inputTokens: 100, outputTokens: 20, totalTokens: 120 })));
    const client = makeClient(bedrockFinOps({ meterProvider: h.meterProvider }));
    await withAttribution({ tenant: 'acme', feature: 'chat' }, () => client.send(new ConverseCommand(input)));
    for (let i = 0; i < 3; i++) await withAttribution({ feature: 'chat', tenant: 'acme' }, () => client.send(new ConverseCommand(input)));
    const all = await h.collect();
    const calls = metric(all, 'bedrock_finops.calls').dataPoints.filter((p) => p.attributes.tenant === 'acme');
    expect(calls.map((p) => p.value)).toEqual([4]);
    const input100 = metric(all, 'bedrock_finops.tokens').dataPoints.filter((p) => p.attributes.tenant === 'acme' && p.attributes['bedrock_finops.token.type'] === 'input');
    expect(input100.map((p) => p.value)).toEqual([400]);
  });

  it('never puts prompt or completion text into any metric', async () => {
    const h = metricsHarness();
    server.use(on('converse', converseOk({ inputTokens: 1, outputTokens: 1, totalTokens: 2 })));
    const client = makeClient(bedrockFinOps({ meterProvider: h.meterProvider }));
    await client.send(new ConverseCommand(input));
    expect(JSON.stringify(await h.collect())).not.toContain('SECRET');
  });

  it('keeps working when the metrics pipeline throws', async () => {
    server.use(on('converse', converseOk({ inputTokens: 1, outputTokens: 1, totalTokens: 2 })));
    const broken = {
      getMeter: () => {
        throw new Error('exporter exploded');
      },
    };
    const records: unknown[] = [];
    const client = makeClient(bedrockFinOps({ meterProvider: broken, onUsage: (r) => records.push(r) }));
    await expect(client.send(new ConverseCommand(input))).resolves.toBeDefined();
    expect(records).toHaveLength(1);
  });
});

describe('genAiHistograms: false', () => {
  it('records no GenAI histograms but keeps the FinOps counters', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    server.use(on('converse', converseOk({ inputTokens: 5, outputTokens: 6, totalTokens: 11 })));
    const client = makeClient(bedrockFinOps({ meterProvider: new MeterProvider({ readers: [reader] }), genAiHistograms: false }));
    await client.send(new ConverseCommand(input));
    const { resourceMetrics } = await reader.collect();
    const all = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    for (const name of ['gen_ai.client.token.usage', 'gen_ai.client.operation.duration']) expect(all.find((m) => m.descriptor.name === name)?.dataPoints ?? []).toHaveLength(0);
    expect(metric(all, 'bedrock_finops.tokens').dataPoints.map((p) => p.value)).toEqual([5, 6]);
  });
});

describe("genAiHistograms: 'producer'", () => {
  /** The GenAI histograms of a run, comparable across the two ways of recording them. */
  function histograms(all: MetricData[]) {
    return all
      .filter((m) => m.descriptor.name.startsWith('gen_ai.'))
      .map((m) => ({
        name: m.descriptor.name,
        unit: m.descriptor.unit,
        temporality: m.aggregationTemporality,
        points: m.dataPoints
          .map((p) => {
            const v = p.value as { buckets: { boundaries: number[]; counts: number[] }; sum: number; count: number; min?: number; max?: number };
            return { attributes: p.attributes, boundaries: v.buckets.boundaries, counts: v.buckets.counts, count: v.count, sum: Math.round(v.sum * 1e6) };
          })
          .sort((a, b) => JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes))),
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async function run(mode: true | 'producer', histogramAttribution = true) {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    // The producer must exist before the reader: the plugin is created first, its meterProvider is looked up lazily.
    const finops = bedrockFinOps({ genAiHistograms: mode, attribution: { team: 'search' }, histogramAttribution });
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000, metricProducers: finops.metricProducer === undefined ? [] : [finops.metricProducer] });
    const provider = new MeterProvider({ readers: [reader] });
    const { metrics } = await import('@opentelemetry/api');
    metrics.disable();
    metrics.setGlobalMeterProvider(provider);
    try {
      server.use(
        on('converse', converseOk({ inputTokens: 100, outputTokens: 20, totalTokens: 120 })),
        on('converse-stream', () => eventStream([converseStreamEvent('messageStart', { role: 'assistant' }), converseStreamEvent('metadata', { usage: { inputTokens: 7, outputTokens: 3, totalTokens: 10 }, metrics: { latencyMs: 1 } })])),
      );
      const client = makeClient(finops, { maxAttempts: 1 });
      for (let i = 0; i < 3; i++) await withAttribution({ feature: `f${i % 2}` }, () => client.send(new ConverseCommand(input)));
      await drain((await client.send(new ConverseStreamCommand(input))).stream);
      server.use(on('converse', () => awsError(400, 'ValidationException')));
      // Errors under two attributions: their histogram attributes are alike without attribution.
      for (const feature of ['e0', 'e1']) await withAttribution({ feature }, () => client.send(new ConverseCommand(input))).catch(() => undefined);
      const { resourceMetrics } = (await reader.collect()) as { resourceMetrics: ResourceMetrics };
      return { all: resourceMetrics.scopeMetrics.flatMap((s) => s.metrics), finops };
    } finally {
      metrics.disable();
    }
  }

  it('exports the same histograms (names, units, buckets, attributes, counts) as the SDK instruments, through finops.metricProducer', async () => {
    const viaInstruments = await run(true);
    const viaProducer = await run('producer');
    expect(viaInstruments.finops.metricProducer).toBeUndefined();
    expect(viaProducer.finops.metricProducer).toBeDefined();
    const a = histograms(viaInstruments.all);
    const b = histograms(viaProducer.all);
    expect(a.map((h) => h.name)).toEqual(['gen_ai.client.operation.duration', 'gen_ai.client.operation.time_to_first_chunk', 'gen_ai.client.token.usage']);
    // Durations differ run to run; everything else must be identical.
    const stable = (hs: typeof a) => hs.map((h) => (h.name === 'gen_ai.client.token.usage' ? h : { ...h, points: h.points.map((p) => ({ attributes: p.attributes, boundaries: p.boundaries, count: p.count })) }));
    expect(stable(b)).toEqual(stable(a));
    // The FinOps counters still come through the MeterProvider, once.
    expect(viaProducer.all.filter((m) => m.descriptor.name === 'bedrock_finops.calls')).toHaveLength(1);
  });

  it('exports one series per attribute set when histogramAttribution is false: calls that differ only by attribution share it, as with the SDK instruments', async () => {
    const viaInstruments = histograms((await run(true, false)).all);
    const viaProducer = histograms((await run('producer', false)).all);
    const stable = (hs: typeof viaInstruments) => hs.map((h) => ({ name: h.name, points: h.points.map((p) => ({ attributes: p.attributes, count: p.count })) }));
    expect(stable(viaProducer)).toEqual(stable(viaInstruments));
    // Five calls under four attributions (f0, f1, none for the stream, e0 and e1 failing): one success series, one error series.
    const duration = viaProducer.find((h) => h.name === 'gen_ai.client.operation.duration');
    expect(new Map(duration?.points.map((p) => [p.attributes['error.type'] ?? 'ok', p.count]))).toEqual(
      new Map([
        ['ok', 4],
        ['ValidationException', 2],
      ]),
    );
    for (const h of viaProducer) for (const p of h.points) expect(p.attributes.feature).toBeUndefined();
  });
});
