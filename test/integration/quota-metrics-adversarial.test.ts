import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { metrics } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type MetricProducer } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps, withAttribution, type BedrockFinOpsOptions } from '../../src/index.js';
import { heuristicInputTokens } from '../../src/budgets/index.js';
import type { QuotaRule } from '../../src/quotas/index.js';
import { MemoryQuotaStore, type QuotaStore } from '../../src/quotas/index.js';
import { awsError, converseReply, makeClient, on, recorder, tick, useMockBedrock } from '../helpers/bedrock.js';

/**
 * Quotas and metrics as a hostile or careless user meets them, through a real client (msw over
 * HTTP/1.1). Each test says what is held, charged and released, and what is recorded.
 */
const MODEL = 'amazon.nova-micro-v1:0';
const server = useMockBedrock();

/** Model ids that reached Bedrock, in order. */
function answering(usage: { inputTokens: number; outputTokens: number }): string[] {
  const sent: string[] = [];
  server.use(
    on('converse', ({ params }) => {
      sent.push(decodeURIComponent(params.modelId));
      return converseReply(usage);
    }),
  );
  return sent;
}

function plugin(quotas: QuotaRule[], more: Partial<BedrockFinOpsOptions> = {}) {
  const { records, onUsage } = recorder();
  const finops = bedrockFinOps({ quotas, onUsage, ...more });
  const client = makeClient(finops, { maxAttempts: 1 });
  const inUse = (name: string) => finops.quotas.status().find((s) => s.quota === name)?.inUse;
  const waiting = (name: string) => finops.quotas.status().find((s) => s.quota === name)?.waiting;
  return { finops, client, records, inUse, waiting };
}

const converse = (maxTokens = 100, modelId = MODEL) => new ConverseCommand({ modelId, messages: [{ role: 'user', content: [{ text: 'hello' }] }], inferenceConfig: { maxTokens } });

describe('quota waits that end early', () => {
  it('a call aborted while it waits for its second quota gives back the hold it already had on the first', async () => {
    const sent = answering({ inputTokens: 40, outputTokens: 100 });
    const wide: QuotaRule = { name: 'wide', match: { model: 'amazon.nova*' }, tokensPerMinute: 100_000, onLimit: 'wait' };
    const narrow: QuotaRule = { name: 'narrow', match: { model: 'amazon.nova*' }, tokensPerMinute: 150, onLimit: 'wait', maxWaitMs: 60_000 };
    const { client, records, inUse, waiting } = plugin([wide, narrow]);
    // The first call is charged 140 on both quotas (input 40 + output 100, burndown 1).
    await client.send(converse());
    expect(inUse('wide')).toEqual({ tokens: 140, requests: 1 });
    expect(inUse('narrow')).toEqual({ tokens: 140, requests: 1 });
    // The second holds its need (input estimate + 100) on `wide`, then waits on `narrow` (140 + need > 150).
    const controller = new AbortController();
    const second = client.send(converse(), { abortSignal: controller.signal });
    await tick(20);
    expect(waiting('narrow')).toBe(1);
    expect(inUse('wide')?.tokens).toBeGreaterThan(140 + 100);
    controller.abort();
    await expect(second).rejects.toMatchObject({ name: 'AbortError' });
    // Released: the hold on `wide` (it was held for 15 minutes before); charged: nothing more; sent and recorded: the first call only.
    expect(waiting('narrow')).toBe(0);
    expect(inUse('wide')).toEqual({ tokens: 140, requests: 2 });
    expect(inUse('narrow')).toEqual({ tokens: 140, requests: 1 });
    expect(sent).toEqual([MODEL]);
    expect(records).toHaveLength(1);
  });
});

/** The in-memory store, but its `throttled` and `settle` fail as a broken backend's would. */
class BrokenStore extends MemoryQuotaStore implements QuotaStore {
  override settle(): void {
    throw new Error('store down (settle)');
  }
  throttled(): void {
    throw new Error('store down (throttled)');
  }
}

describe('a quota store that fails never changes what the caller sees', () => {
  it("a 429 reaches the caller as Bedrock's ThrottlingException when the store fails to hear of it, and a failed settle is not thrown", async () => {
    server.use(on('converse', () => awsError(429, 'ThrottlingException', 'Too many tokens')));
    const { client, records } = plugin([{ name: 'q', match: { model: 'amazon.nova*' }, tokensPerMinute: 100_000, onLimit: 'reject' }], { quotaStore: new BrokenStore() });
    await expect(client.send(converse())).rejects.toMatchObject({ name: 'ThrottlingException' });
    // Recorded: the failed call, once.
    expect(records).toMatchObject([{ outcome: 'error', error: 'ThrottlingException' }]);
  });
});

describe('metrics against hostile input', () => {
  it("producer mode keeps a bounded number of error series however many error names the service sends (each distinct name was a new series, without end)", async () => {
    let n = 0;
    server.use(on('converse', () => awsError(400, `Hostile${n++}Exception`)));
    const finops = bedrockFinOps({ genAiHistograms: 'producer', meterProvider: new MeterProvider() });
    const client = makeClient(finops, { maxAttempts: 1 });
    for (let i = 0; i < 150; i++) await client.send(converse()).catch(() => undefined);
    const { resourceMetrics } = await (finops.metricProducer as MetricProducer).collect();
    const duration = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === 'gen_ai.client.operation.duration');
    const points = duration?.dataPoints ?? [];
    // Recorded: all 150 calls; in at most 64 named error series and one for the rest.
    expect(points.reduce((s, p) => s + (p.value as { count: number }).count, 0)).toBe(150);
    expect(points.length).toBeLessThanOrEqual(65);
    expect(points.some((p) => p.attributes['error.type'] === '_OTHER')).toBe(true);
  });
});

describe('what metrics carry', () => {
  it('never the prompt or the completion, collected while calls run and after shutdown(), with hostile attribution', async () => {
    const PROMPT = 'SECRET-PROMPT-7f3a';
    const COMPLETION = 'SECRET-COMPLETION-91bc';
    let n = 0;
    server.use(
      // Every third call fails with a message that echoes the prompt, as a validation error may.
      on('converse', () => (++n % 3 === 0 ? awsError(400, 'ValidationException', `bad input: ${PROMPT}`) : converseReply({ inputTokens: 5, outputTokens: 7 }, COMPLETION))),
    );
    const finops = bedrockFinOps({
      genAiHistograms: 'producer',
      budgets: [{ name: 'per-tenant', per: 'tenant', limit: { tokens: 1_000_000 }, window: 'day' }],
      quotas: [{ name: 'nova', match: { model: 'amazon.nova*' }, tokensPerMinute: 1_000_000, shares: { per: 'tenant' }, onLimit: 'reject' }],
    });
    const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000, metricProducers: [finops.metricProducer as MetricProducer] });
    const provider = new MeterProvider({ readers: [reader] });
    metrics.disable();
    metrics.setGlobalMeterProvider(provider);
    try {
      const client = makeClient(finops, { maxAttempts: 1 });
      const input = (i: number) => new ConverseCommand({ modelId: MODEL, messages: [{ role: 'user', content: [{ text: `${PROMPT} ${i}` }] }], inferenceConfig: { maxTokens: 50 } });
      const hostile = (i: number) => ({ tenant: `t${i}\n# HELP fake\u0000\u202e${'é'.repeat(200)}`, constructor: 'x', toString: 'y', ['__proto__']: 'z' });
      const calls = Array.from({ length: 30 }, (_, i) => withAttribution(hostile(i), () => client.send(input(i))).catch(() => undefined));
      // Collected while the calls are in flight, then after they settled, then after shutdown.
      const during = await reader.collect();
      await Promise.all(calls);
      const after = await reader.collect();
      await finops.shutdown();
      const late = await reader.collect();
      const text = JSON.stringify([during, after, late]);
      expect(text).not.toContain('SECRET-PROMPT');
      expect(text).not.toContain('SECRET-COMPLETION');
      const names = new Set(late.resourceMetrics.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name)));
      for (const name of ['gen_ai.client.token.usage', 'gen_ai.client.operation.duration', 'bedrock_finops.calls', 'bedrock_finops.quota.in_use', 'bedrock_finops.budget.used']) expect(names).toContain(name);
      // Every call is counted once, by outcome: 20 successes, 10 errors.
      const calls_ = late.resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === 'bedrock_finops.calls');
      const byOutcome = (o: string) => (calls_?.dataPoints ?? []).filter((p) => p.attributes['bedrock_finops.outcome'] === o).reduce((s, p) => s + (p.value as number), 0);
      expect([byOutcome('success'), byOutcome('error')]).toEqual([20, 10]);
    } finally {
      metrics.disable();
      await provider.shutdown();
    }
  });
});

describe('quota fallback chains', () => {
  const LITE = 'amazon.nova-lite-v1:0';
  const PRO = 'amazon.nova-pro-v1:0';
  const oneRequest = (name: string, model: string, fallback: string): QuotaRule => ({ name, match: { model }, tokensPerMinute: 1_000_000, requestsPerMinute: 1, onLimit: 'fallback', fallback });

  it('A → B → A does not loop: a call goes to its quota\'s fallback once, and is refused when that has no room either', async () => {
    const sent = answering({ inputTokens: 5, outputTokens: 5 });
    const { client, records, inUse } = plugin([oneRequest('micro', MODEL, LITE), oneRequest('lite', LITE, MODEL)]);
    await client.send(converse());
    await client.send(converse());
    await expect(client.send(converse())).rejects.toMatchObject({ name: 'QuotaExceededError', quota: 'micro', reason: 'limit' });
    // Sent: micro, then lite (the fallback); the third was sent nowhere. Charged: one request and 10 tokens each.
    expect(sent).toEqual([MODEL, LITE]);
    expect(records.map((r) => [r.modelId, r.fallback?.reason])).toEqual([
      [MODEL, undefined],
      [LITE, 'quota'],
    ]);
    expect([inUse('micro'), inUse('lite')]).toEqual([
      { tokens: 10, requests: 1 },
      { tokens: 10, requests: 1 },
    ]);
  });

  it('a fallback no quota matches takes every call the quota has no room for, charged to no quota', async () => {
    const sent = answering({ inputTokens: 5, outputTokens: 5 });
    const { client, records, inUse } = plugin([oneRequest('micro', MODEL, PRO)]);
    for (let i = 0; i < 4; i++) await client.send(converse());
    expect(sent).toEqual([MODEL, PRO, PRO, PRO]);
    expect(records.filter((r) => r.fallback?.reason === 'quota')).toHaveLength(3);
    expect(inUse('micro')).toEqual({ tokens: 10, requests: 1 });
  });
});

describe('bursts exactly at the limit', () => {
  it('a quota of exactly N needs admits N of N + 1 calls at once; when the head of the queue aborts, the next waiting call takes the room', async () => {
    const sent = answering({ inputTokens: 5, outputTokens: 5 });
    const need = heuristicInputTokens('Converse', { messages: [{ role: 'user', content: [{ text: 'hello' }] }] }) + 100;
    const N = 4;
    const reject: QuotaRule = { name: 'exact', match: { model: 'amazon.nova*' }, tokensPerMinute: N * need, onLimit: 'reject' };
    const a = plugin([reject]);
    // Held at once: N × need, exactly the limit; the (N + 1)th is refused.
    const outcomes = await Promise.allSettled(Array.from({ length: N + 1 }, () => a.client.send(converse())));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(N);
    expect(outcomes.filter((o) => o.status === 'rejected' && (o.reason as { reason?: string }).reason === 'limit')).toHaveLength(1);
    sent.length = 0;

    // Waiting: one call in flight holds everything; two wait; the first of them aborts; the second is admitted once the first call's charge leaves the (100 ms) window.
    let release: () => void = () => undefined;
    let calls = 0;
    server.use(
      on('converse', async () => {
        if (++calls === 1) await new Promise<void>((r) => (release = r));
        return converseReply({ inputTokens: 5, outputTokens: 5 });
      }),
    );
    const b = plugin([{ ...reject, tokensPerMinute: need, windowMs: 100, onLimit: 'wait', maxWaitMs: 60_000 }]);
    const inFlight = b.client.send(converse());
    await tick(20);
    const controller = new AbortController();
    const head = b.client.send(converse(), { abortSignal: controller.signal });
    const next = b.client.send(converse());
    await tick(20);
    expect(b.waiting('exact')).toBe(2);
    controller.abort();
    await expect(head).rejects.toMatchObject({ name: 'AbortError' });
    expect(b.waiting('exact')).toBe(1);
    release();
    await inFlight;
    await next;
    // Sent and recorded: the call in flight and the next one; the aborted head: nothing.
    expect(calls).toBe(2);
    expect(b.records).toHaveLength(2);
    expect(b.waiting('exact')).toBe(0);
  });
});
