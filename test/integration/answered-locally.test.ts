/**
 * A user middleware below the plugin that answers a call itself (a response cache returning a
 * stored answer without calling `next`): nothing was sent to Bedrock, so nothing was billed. The
 * call is still recorded (outcome as it ended, `usageSource: 'unsent'`), with 0 tokens and
 * `costUsd` 0, and charges no budget (its reservation released). The plugin tells by its
 * per-attempt hook: no attempt went out. Calls that did go out (normal, retried, spilled from a
 * provisioned model) are charged what Bedrock billed, as before.
 */
import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand, InvokeModelCommand, type ConverseCommandOutput } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { InitializeHandlerOptions, InitializeMiddleware } from '@smithy/types';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { FINOPS_ATTEMPT_MIDDLEWARE } from '../../src/index.js';
import { budgeted, countedConverse, until } from '../helpers/budgeted.js';
import { awsError, converseReply, drain, jsonBody, makeClient, on, REGION, say, useMockBedrock } from '../helpers/bedrock.js';

const server = useMockBedrock();

const HAIKU = 'us.anthropic.claude-3-5-haiku-20241022-v1:0'; // $0.80 / $4 per million
const per = (tokens: number, usdPerMillion: number) => (tokens * usdPerMillion) / 1e6;
const USAGE = { inputTokens: 900, outputTokens: 100, totalTokens: 1_000 };

const setup = budgeted;
const bedrock = (): { requests: number } => countedConverse(server, USAGE);

/** A stored Converse answer, as a cache would keep it: Bedrock's usage included. */
const storedConverse = { $metadata: { httpStatusCode: 200 }, output: { message: { role: 'assistant', content: [{ text: 'cached' }] } }, stopReason: 'end_turn', usage: USAGE, metrics: { latencyMs: 1 } };

/** A cache middleware that answers every call itself. */
function answersEverything(output: () => object): InitializeMiddleware<object, object> {
  return () => () => Promise.resolve({ output: output() as never, response: {} });
}

/** Below the plugin (its metering middleware is initialize/high): the plugin sees the cached answer. */
const BELOW: InitializeHandlerOptions & { name: string } = { step: 'initialize', name: 'userResponseCache' };

describe('a middleware below the plugin answers the call: nothing sent, nothing billed, still recorded', () => {
  it('a cached Converse: recorded success with usageSource unsent, 0 tokens, cost 0; no budget charged, nothing reserved', async () => {
    const seen = bedrock();
    const { finops, records, budget } = setup();
    const client = makeClient(finops);
    client.middlewareStack.add(answersEverything(() => storedConverse) as never, BELOW);
    const out = await client.send(new ConverseCommand(say('hi', HAIKU, 200)));
    expect(out.output?.message?.content?.[0]?.text).toBe('cached');
    expect(seen.requests).toBe(0);
    // Before: usageSource 'usage', 900 in / 100 out, $0.00112, 1,000 tokens charged to the budget.
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ outcome: 'success', usageSource: 'unsent', inputTokens: 0, outputTokens: 0, cacheReadInputTokens: 0, cacheWriteInputTokens: 0, costUsd: 0 });
    expect(await budget()).toEqual({ used: 0, reserved: 0 });
  });

  it('a cached InvokeModel (answered at the build step): unsent, 0 tokens, cost 0, nothing charged', async () => {
    const { finops, records, budget } = setup();
    const client = makeClient(finops);
    const body = jsonBody({ content: [{ type: 'text', text: 'cached' }], usage: { input_tokens: 700, output_tokens: 50 } });
    client.middlewareStack.add(answersEverything(() => ({ $metadata: {}, body, contentType: 'application/json' })) as never, { step: 'build', name: 'userInvokeCache' });
    await client.send(new InvokeModelCommand({ modelId: HAIKU, body: jsonBody({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 100, messages: [] }) }));
    expect(records.map((r) => [r.outcome, r.usageSource, r.inputTokens, r.outputTokens, r.costUsd])).toEqual([['success', 'unsent', 0, 0, 0]]);
    expect(await budget()).toEqual({ used: 0, reserved: 0 });
  });

  it('a cached ConverseStream, read to the end and one stopped early: both unsent, 0 tokens, cost 0, nothing charged', async () => {
    const { finops, records, budget } = setup();
    const client = makeClient(finops);
    async function* replay() {
      await Promise.resolve();
      yield { messageStart: { role: 'assistant' } };
      for (let i = 0; i < 4; i++) yield { contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'cached ' } } };
      yield { messageStop: { stopReason: 'end_turn' } };
      yield { metadata: { usage: USAGE, metrics: { latencyMs: 1 } } };
    }
    client.middlewareStack.add(answersEverything(() => ({ $metadata: {}, stream: replay() })) as never, BELOW);
    const whole = await client.send(new ConverseStreamCommand(say('hi', HAIKU, 200)));
    expect(await drain(whole.stream)).toHaveLength(7);
    const stopped = await client.send(new ConverseStreamCommand(say('hi', HAIKU, 200)));
    await drain(stopped.stream, 2);
    await until(() => records.length === 2);
    // Before: both 'usage' (the stopped one drained to its metadata), 900 / 100 each, 2,000 tokens charged.
    expect(records.map((r) => [r.outcome, r.usageSource, r.inputTokens, r.outputTokens, r.costUsd])).toEqual([
      ['success', 'unsent', 0, 0, 0],
      ['abandoned', 'unsent', 0, 0, 0],
    ]);
    expect(await budget()).toEqual({ used: 0, reserved: 0 });
  });

  it('a cache that answers only the second of two calls: the first charged what Bedrock billed, the second nothing', async () => {
    const seen = bedrock();
    const { finops, records, budget } = setup();
    const client = makeClient(finops);
    const stored = new Map<string, unknown>();
    const cache: InitializeMiddleware<{ messages?: { content?: { text?: string }[] }[] }, object> = (next) => async (args) => {
      const key = JSON.stringify(args.input.messages);
      const hit = stored.get(key);
      if (hit !== undefined) return { output: hit as never, response: {} };
      const result = await next(args);
      stored.set(key, result.output);
      return result;
    };
    client.middlewareStack.add(cache as never, BELOW);
    await client.send(new ConverseCommand(say('same question', HAIKU, 200)));
    await client.send(new ConverseCommand(say('same question', HAIKU, 200)));
    expect(seen.requests).toBe(1);
    expect(records.map((r) => [r.usageSource, r.inputTokens, r.outputTokens])).toEqual([
      ['usage', 900, 100],
      ['unsent', 0, 0],
    ]);
    expect(records[0]!.costUsd).toBeCloseTo(per(900, 0.8) + per(100, 4), 12);
    expect(records[1]!.costUsd).toBe(0);
    // Before: 2,000.
    expect(await budget()).toEqual({ used: 1_000, reserved: 0 });
  });

  it('metrics: the call is counted, its token sizes are not (no 0-token points), its cost adds 0', async () => {
    const seen = bedrock();
    const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 });
    const { finops } = setup({ meterProvider: new MeterProvider({ readers: [reader] }) });
    const client = makeClient(finops);
    await client.send(new ConverseCommand(say('sent', HAIKU, 200)));
    client.middlewareStack.add(answersEverything(() => storedConverse) as never, BELOW);
    await client.send(new ConverseCommand(say('cached', HAIKU, 200)));
    expect(seen.requests).toBe(1);
    const { resourceMetrics } = await reader.collect();
    const all = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    const find = (name: string) => all.find((m) => m.descriptor.name === name)?.dataPoints ?? [];
    // Before: two points per token type (the cached call's 900 / 100 too).
    expect(find('gen_ai.client.token.usage').map((p) => [p.attributes['gen_ai.token.type'], (p.value as { count: number; sum: number }).count, (p.value as { sum: number }).sum])).toEqual([
      ['input', 1, 900],
      ['output', 1, 100],
    ]);
    // Two series: the cached call went to no server (no server.address).
    expect(find('bedrock_finops.calls').map((p) => [p.attributes['bedrock_finops.outcome'], p.attributes['server.address'], p.value])).toEqual([
      ['success', 'bedrock-runtime.us-east-1.amazonaws.com', 1],
      ['success', undefined, 1],
    ]);
    expect(find('bedrock_finops.cost').map((p) => p.value as number)[0]).toBeCloseTo(per(900, 0.8) + per(100, 4), 12);
  });

  it('concurrent calls on the SDK handler cache (one shared context), the second coalesced onto the first: only the first charged', async () => {
    const seen = bedrock();
    const { finops, records, budget } = setup();
    const client = new BedrockRuntimeClient({ region: REGION, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, requestHandler: new NodeHttpHandler(), cacheMiddleware: true });
    client.middlewareStack.use(finops);
    const inFlight = new Map<string, Promise<{ output: unknown }>>();
    const coalesce: InitializeMiddleware<{ messages?: unknown }, object> = (next) => (args) => {
      const key = JSON.stringify(args.input.messages);
      const first = inFlight.get(key);
      if (first !== undefined) return first.then((r) => ({ output: r.output as never, response: {} }));
      const sent = next(args);
      inFlight.set(key, sent);
      return sent;
    };
    client.middlewareStack.add(coalesce as never, BELOW);
    const outs: ConverseCommandOutput[] = await Promise.all([client.send(new ConverseCommand(say('q', HAIKU, 200))), client.send(new ConverseCommand(say('q', HAIKU, 200)))]);
    expect(outs.map((o) => o.output?.message?.content?.[0]?.text)).toEqual(['from bedrock', 'from bedrock']);
    expect(seen.requests).toBe(1);
    expect(records.map((r) => r.usageSource).sort()).toEqual(['unsent', 'usage']);
    expect(await budget()).toEqual({ used: 1_000, reserved: 0 });
  });
});

describe('calls that went out are charged as before', () => {
  it('a normal call: usage, charged', async () => {
    bedrock();
    const { finops, records, budget } = setup();
    await makeClient(finops).send(new ConverseCommand(say('hi', HAIKU, 200)));
    expect(records.map((r) => [r.usageSource, r.inputTokens, r.outputTokens])).toEqual([['usage', 900, 100]]);
    expect(await budget()).toEqual({ used: 1_000, reserved: 0 });
  });

  it('a retried call (503, then an answer): usage, charged once', async () => {
    let requests = 0;
    server.use(on('converse', () => (++requests === 1 ? awsError(503, 'ServiceUnavailableException') : converseReply(USAGE))));
    const { finops, records, budget } = setup();
    const out = await makeClient(finops, { maxAttempts: 3 }).send(new ConverseCommand(say('hi', HAIKU, 200)));
    expect(out.$metadata.attempts).toBe(2);
    expect(records.map((r) => [r.outcome, r.usageSource, r.inputTokens, r.outputTokens])).toEqual([['success', 'usage', 900, 100]]);
    expect(await budget()).toEqual({ used: 1_000, reserved: 0 });
  });

  it('a spilled call (provisioned 429, then on-demand): usage, charged, the fallback recorded', async () => {
    const ARN = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123def456';
    const requests: string[] = [];
    server.use(
      on('converse', ({ params }) => {
        const id = decodeURIComponent(params.modelId);
        requests.push(id);
        return id === ARN ? awsError(429, 'ThrottlingException') : converseReply(USAGE);
      }),
    );
    const { finops, records, budget } = setup({ provisioned: { [ARN]: { model: 'anthropic.claude-3-5-haiku-20241022-v1:0', fallback: HAIKU } } });
    await makeClient(finops).send(new ConverseCommand({ ...say('hi', ARN, 200) }));
    expect(requests).toEqual([ARN, HAIKU]);
    expect(records.map((r) => [r.usageSource, r.modelId, r.fallback?.reason, r.inputTokens, r.outputTokens])).toEqual([['usage', HAIKU, 'ThrottlingException', 900, 100]]);
    expect(await budget()).toEqual({ used: 1_000, reserved: 0 });
  });

  it('without its per-attempt hook on the stack the plugin cannot tell, and charges what the response says (sent or not)', async () => {
    const seen = bedrock();
    const { finops, records, budget } = setup();
    const client = makeClient(finops);
    for (const entry of client.middlewareStack.identify()) {
      const name = entry.split(' - ')[0] ?? '';
      if (name.startsWith(FINOPS_ATTEMPT_MIDDLEWARE.name)) client.middlewareStack.remove(name);
    }
    await client.send(new ConverseCommand(say('hi', HAIKU, 200)));
    client.middlewareStack.add(answersEverything(() => storedConverse) as never, BELOW);
    await client.send(new ConverseCommand(say('hi', HAIKU, 200)));
    expect(seen.requests).toBe(1);
    expect(records.map((r) => [r.usageSource, r.inputTokens, r.outputTokens])).toEqual([
      ['usage', 900, 100],
      ['usage', 900, 100],
    ]);
    expect(await budget()).toEqual({ used: 2_000, reserved: 0 });
  });
});
