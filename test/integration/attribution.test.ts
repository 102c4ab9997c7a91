import { ConverseCommand, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { describe, expect, it } from 'vitest';
import { attribute, bedrockFinOps, isConfigurationError, withAttribution } from '../../src/index.js';
import { converseStreamEvent } from '../../src/testing/index.js';
import { eventStream, makeClient, useMockBedrock, on, recorder, tick, converseReply, drain } from '../helpers/bedrock.js';

const server = useMockBedrock();

const input = { modelId: 'amazon.nova-micro-v1:0', messages: [{ role: 'user' as const, content: [{ text: 'hi' }] }] };
const ok = () => converseReply();

describe('attribution', () => {
  it('merges plugin defaults < withAttribution scopes (inner wins) < attribute(command)', async () => {
    const { records, onUsage } = recorder();
    server.use(on('converse', ok));
    const client = makeClient(bedrockFinOps({ onUsage, attribution: { team: 'search', env: 'prod' } }));
    await client.send(new ConverseCommand(input));
    await withAttribution({ feature: 'autocomplete', tenant: 't1' }, async () => {
      await client.send(new ConverseCommand(input));
      await withAttribution({ tenant: 't2', team: 'ads' }, async () => {
        await client.send(new ConverseCommand(input));
        await client.send(attribute(new ConverseCommand(input), { tenant: 't3' }));
      });
    });
    expect(records.map((r) => r.attribution)).toEqual([
      { team: 'search', env: 'prod' },
      { team: 'search', env: 'prod', feature: 'autocomplete', tenant: 't1' },
      { team: 'ads', env: 'prod', feature: 'autocomplete', tenant: 't2' },
      { team: 'ads', env: 'prod', feature: 'autocomplete', tenant: 't3' },
    ]);
  });

  it('survives timers and reaches a stream that is consumed after the scope has returned', async () => {
    const { records, onUsage } = recorder();
    server.use(
      on('converse', ok),
      on('converse-stream', () =>
        eventStream([converseStreamEvent('messageStart', { role: 'assistant' }), converseStreamEvent('metadata', { usage: { inputTokens: 4, outputTokens: 5, totalTokens: 9 }, metrics: { latencyMs: 1 } })]),
      ),
    );
    const client = makeClient(bedrockFinOps({ onUsage }));
    const stream = await withAttribution({ feature: 'chat' }, async () => {
      await new Promise<void>((resolve) => setTimeout(() => void client.send(new ConverseCommand(input)).then(() => resolve()), 5));
      return client.send(new ConverseStreamCommand(input));
    });
    await tick(5);
    await drain(stream.stream);
    expect(records.map((r) => [r.operation, r.attribution])).toEqual([
      ['Converse', { feature: 'chat' }],
      ['ConverseStream', { feature: 'chat' }],
    ]);
  });

  it('keeps untrusted values bounded and never throws on them', async () => {
    const { records, onUsage } = recorder();
    server.use(on('converse', ok));
    const client = makeClient(bedrockFinOps({ onUsage }));
    const long = 'x'.repeat(10_000);
    await withAttribution({ tenant: long, user: 42 as unknown as string, bad: undefined as unknown as string }, () => client.send(new ConverseCommand(input)));
    expect(records[0]!.attribution).toEqual({ tenant: 'x'.repeat(128), user: '42' });
  });

  it.each([
    ['tenantId', 'tenant_id'],
    ['cost-center', 'cost_center'],
    ['Team', 'team'],
    ['X-Request-ID', 'x_request_id'],
    ['HTTPServer', 'http_server'],
    ['user name', 'user_name'],
    ['already_snake.case', 'already_snake.case'],
  ])('normalises the call-time key %j to %j in the record, and never throws', async (key, normalised) => {
    const { records, onUsage } = recorder();
    server.use(on('converse', ok));
    const client = makeClient(bedrockFinOps({ onUsage }));
    await withAttribution({ [key]: 'v1' }, () => client.send(new ConverseCommand(input)));
    await client.send(attribute(new ConverseCommand(input), { [key]: 'v2' }));
    expect(records.map((r) => r.attribution)).toEqual([{ [normalised]: 'v1' }, { [normalised]: 'v2' }]);
  });

  it.each([
    ['', 'empty'],
    ['1team', 'must start with a letter'],
    ['gen_ai.system', 'reserved namespace'],
    ['server.address', 'reserved namespace'],
    ['error.type', 'reserved namespace'],
    ['k'.repeat(65), 'longer than 64'],
  ])('drops the invalid call-time key %j (the call goes on), but rejects it in static configuration (%s)', async (key, problem) => {
    const { records, onUsage } = recorder();
    server.use(on('converse', ok));
    const client = makeClient(bedrockFinOps({ onUsage }));
    await withAttribution({ [key]: 'v', team: 'kept' }, () => client.send(attribute(new ConverseCommand(input), { [key]: 'w' })));
    expect(records.map((r) => r.attribution)).toEqual([{ team: 'kept' }]);
    let caught: unknown;
    try {
      bedrockFinOps({ attribution: { [key]: 'v' } });
    } catch (e) {
      caught = e;
    }
    expect(isConfigurationError(caught)).toBe(true);
    expect((caught as Error).message).toContain(problem);
  });

  it('a value holding separator characters cannot pass for another attribution: records, budgets and metrics keep the two apart', async () => {
    const { records, onUsage } = recorder();
    server.use(on('converse', ok));
    const { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } = await import('@opentelemetry/sdk-metrics');
    const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 });
    const finops = bedrockFinOps({
      onUsage,
      meterProvider: new MeterProvider({ readers: [reader] }),
      // One token budget per team: the forged value must not draw on team x's.
      budgets: [{ name: 'per-team', per: 'team', limit: { tokens: 1_000_000 }, window: 'day' }],
    });
    const client = makeClient(finops);
    // Joined as `key U+0001 value U+0002`, { team: 'x\u0002b\u0001y' } reads as { team: 'x', b: 'y' }.
    const forged = { team: 'x\u0002b\u0001y' };
    const real = { team: 'x', b: 'y' };
    await withAttribution(real, () => client.send(new ConverseCommand(input)));
    await withAttribution(forged, () => client.send(new ConverseCommand(input)));
    await withAttribution(forged, () => client.send(new ConverseCommand(input)));
    // Recorded as given: one call as team x (with b), two as the forged team.
    expect(records.map((r) => r.attribution)).toEqual([real, forged, forged]);
    const used = (await finops.budgets.status()).map((b) => [b.key, b.used.tokens]);
    const perCall = (records[0]?.inputTokens ?? 0) + (records[0]?.outputTokens ?? 0);
    expect(perCall).toBeGreaterThan(0);
    expect(new Map(used as [string, number][])).toEqual(
      new Map([
        ['x', perCall],
        [forged.team, 2 * perCall],
      ]),
    );
    // The calls counter: one series per attribution, counts 1 and 2.
    const { resourceMetrics } = await reader.collect();
    const calls = resourceMetrics.scopeMetrics.flatMap((m) => m.metrics).find((m) => m.descriptor.name === 'bedrock_finops.calls');
    const byTeam = (calls?.dataPoints ?? []).map((p) => [p.attributes.team, p.attributes.b, p.value]);
    expect(byTeam).toEqual(expect.arrayContaining([['x', 'y', 1], [forged.team, undefined, 2]]));
    expect(byTeam).toHaveLength(2);
  });

  it('never throws on hostile attribution objects: prototype keys, thousands of keys, non-objects', async () => {
    const { records, onUsage } = recorder();
    server.use(on('converse', ok));
    const client = makeClient(bedrockFinOps({ onUsage }));
    const many = Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, 'v']));
    await withAttribution(many, () => client.send(new ConverseCommand(input)));
    await withAttribution(JSON.parse('{"__proto__": "p", "constructor": "c"}') as Record<string, string>, () => client.send(new ConverseCommand(input)));
    await withAttribution(null as unknown as Record<string, string>, () => client.send(new ConverseCommand(input)));
    expect(Object.keys(records[0]!.attribution)).toHaveLength(32);
    // "__proto__" is an ordinary key once normalised ("proto"); the record's prototype is untouched.
    expect(records[1]!.attribution).toEqual({ proto: 'p', constructor: 'c' });
    expect(Object.getPrototypeOf(records[1]!.attribution)).toBe(Object.prototype);
    expect(records[2]!.attribution).toEqual({});
  });
});

describe('attribution with the SDK handler cache', () => {
  it('keeps per-command attribution per call when the client caches its middleware', async () => {
    const { records, onUsage } = recorder();
    server.use(on('converse', ok));
    const { BedrockRuntimeClient } = await import('@aws-sdk/client-bedrock-runtime');
    const { NodeHttpHandler } = await import('@smithy/node-http-handler');
    const client = new BedrockRuntimeClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      requestHandler: new NodeHttpHandler(),
      cacheMiddleware: true,
    });
    client.middlewareStack.use(bedrockFinOps({ onUsage }));
    await client.send(attribute(new ConverseCommand(input), { tenant: 'a' }));
    await client.send(new ConverseCommand(input));
    await client.send(attribute(new ConverseCommand(input), { tenant: 'b' }));
    expect(records.map((r) => r.attribution)).toEqual([{ tenant: 'a' }, {}, { tenant: 'b' }]);
  });
});
