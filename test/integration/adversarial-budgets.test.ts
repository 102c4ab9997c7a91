import { ConverseCommand, ConverseStreamCommand, InvokeModelCommand } from '@aws-sdk/client-bedrock-runtime';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bedrockFinOps, isBudgetExceededError, isUnpricedModelError } from '../../src/index.js';
import { converseReply, drain, eventStream, json, jsonBody, makeClient, on, say, tick, useMockBedrock } from '../helpers/bedrock.js';
import { FakeStore } from '../helpers/fake-store.js';
import { converseFrames, countConverse, expectNothingReserved, HAIKU, hostileSetup, per, settleSoon } from '../helpers/adversary.js';

const server = useMockBedrock();
afterEach(() => {
  vi.useRealTimers();
});

const outcome = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: unknown) => (isBudgetExceededError(e) ? 'refused' : `other:${String(e)}`));

describe('cost budgets with exact estimates', () => {
  it('are never passed by calls that write the prompt cache (cache writes cost 1.25× input on Claude)', async () => {
    // Exact estimate: 10,000 input tokens (cache included, as the estimator contract says), 100 output (= maxTokens).
    // Actual: 1,000 input + 9,000 cache-write + 100 output = $0.0008 + $0.009 + $0.0004 = $0.0102 per call.
    server.use(on('converse', () => converseReply({ inputTokens: 1_000, cacheWriteInputTokens: 9_000, outputTokens: 100 })));
    const { client, records } = hostileSetup({ estimator: () => 10_000, budgets: [{ name: 'usd', limit: { costUsd: 0.05 }, window: 'total' }] });
    // The request asks for the cache (a cachePoint): Bedrock writes the cache only then.
    const cached = { ...say('x', HAIKU, 100), system: [{ text: 'a long shared prefix' }, { cachePoint: { type: 'default' as const } }] };
    for (let i = 0; i < 6; i++) await outcome(client.send(new ConverseCommand(cached)));
    const spent = records.reduce((s, r) => s + r.costUsd!, 0);
    // Was: reserved per call 10,000 × $0.80/M + 100 × $4/M = $0.0084 (all input at the input rate), so 5 calls
    // passed admission and spent 5 × $0.0102 = $0.051 of a $0.05 budget. Now the input of a caching request is
    // reserved at the cache-write rate ($1/M): $0.0104 a call, 4 admitted.
    expect(records[0]!.costUsd).toBeCloseTo(per(1_000, 0.8) + per(9_000, 1) + per(100, 4), 12);
    expect(spent).toBeLessThanOrEqual(0.05);
  });

  it.each([
    ['the in-memory store', () => undefined],
    ['an asynchronous store', () => Object.assign(new FakeStore(), { reserveMode: 'async', commitMode: 'async', readMode: 'async' })],
  ])('hold under 1,000 concurrent calls at the priority tier with mixed ends (%s): exactly as many admitted as fit, reserved exactly 0', async (_, store) => {
    // Each call: 1,000 in + 100 out on Haiku at priority (×1.75) = $0.0021; $0.21 fits exactly 100.
    let requests = 0;
    server.use(
      on('converse', () => {
        requests++;
        return converseReply({ inputTokens: 1_000, outputTokens: 100 }, 'x', { serviceTier: { type: 'priority' } });
      }),
      on('converse-stream', () => {
        requests++;
        return eventStream(converseFrames({ inputTokens: 1_000, outputTokens: 100 }, 2, { serviceTier: { type: 'priority' } }));
      }),
    );
    const budgetStore = store();
    const { client, records, finops } = hostileSetup({ estimator: () => 1_000, ...(budgetStore === undefined ? {} : { budgetStore }), budgets: [{ name: 'usd', limit: { costUsd: 0.21 }, window: 'total' }] });
    const input = { ...say('x', HAIKU, 100), serviceTier: { type: 'priority' as const } };
    const calls = Array.from({ length: 1_000 }, (_, i) =>
      i % 2 === 0 ? outcome(client.send(new ConverseCommand(input))) : outcome(client.send(new ConverseStreamCommand(input)).then((o) => drain(o.stream, i % 4 === 1 ? 1 : Infinity))),
    );
    const results = await Promise.all(calls);
    await settleSoon(() => records.length === requests);
    expect(results.filter((r) => r === 'ok')).toHaveLength(100);
    expect(results.filter((r) => r === 'refused')).toHaveLength(900);
    expect(requests).toBe(100);
    const [status] = await finops.budgets.status();
    expect(status!.used.costUsd).toBeCloseTo(0.21, 9);
    expect(status!.used.costUsd).toBeLessThanOrEqual(0.21);
    await expectNothingReserved(finops);
  }, 60_000);
});

describe('exact estimates at the price the call will pay', () => {
  it.each([
    // 10,000 in + 1,000 out; the budget fits exactly 4 such calls.
    ['latency-optimized Claude 3.5 Haiku ($1 / $5)', HAIKU, { performanceConfig: { latency: 'optimized' as const } }, { performanceConfig: { latency: 'optimized' } }, 10_000, 1_000, 4 * (per(10_000, 1) + per(1_000, 5))],
    // 250,000 in + 1,000 out on global Sonnet 4.5: the whole request at $6 / $22.50.
    ['long-context Claude Sonnet 4.5', 'global.anthropic.claude-sonnet-4-5-20250929-v1:0', {}, {}, 250_000, 1_000, 4 * (per(250_000, 6) + per(1_000, 22.5))],
  ])('%s: exactly as many calls admitted as fit, never over', async (_, modelId, ask, served, input, output, limit) => {
    server.use(on('converse', () => converseReply({ inputTokens: input, outputTokens: output }, 'x', served)));
    const { client, records } = hostileSetup({ estimator: () => input, budgets: [{ name: 'usd', limit: { costUsd: limit + 1e-9 }, window: 'total' }] });
    const results: string[] = [];
    for (let i = 0; i < 6; i++) results.push(await outcome(client.send(new ConverseCommand({ ...say('x', modelId, output), ...ask }))));
    expect(results).toEqual(['ok', 'ok', 'ok', 'ok', 'refused', 'refused']);
    expect(records.reduce((sum, r) => sum + r.costUsd!, 0)).toBeCloseTo(limit, 9);
  });
});

describe('operations that produce no output tokens reserve none', () => {
  it('a 2,000-token rerank fits a 10,000-token budget five times', async () => {
    server.use(on('invoke', () => json({ results: [{ index: 0, relevance_score: 0.9 }] }, { 'x-amzn-bedrock-input-token-count': '2000', 'x-amzn-bedrock-output-token-count': '0' })));
    const { client } = hostileSetup({ estimator: () => 2_000, budgets: [{ name: 'ten-k', limit: { tokens: 10_000 }, window: 'total' }] });
    const results: string[] = [];
    for (let i = 0; i < 5; i++) results.push(await outcome(client.send(new InvokeModelCommand({ modelId: 'cohere.rerank-v3-5:0', body: jsonBody({ query: 'q', documents: ['d'], api_version: 2 }) }))));
    // Reserved per call: 2,000 in + 4,096 output (defaultMaxOutputTokens) a reranker never produces, so the third is refused.
    expect(results).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
  });
});

describe('money is integer', () => {
  it('a $5M monthly budget reports its whole limit as remaining before any call', async () => {
    const finops = bedrockFinOps({ budgets: [{ name: 'org', limit: { costUsd: 5_000_000 }, window: 'month' }] });
    const [status] = await finops.budgets.status();
    // Remaining: $4,503,599.63 (the limit capped at 2^52 nano-USD without a word). Should be: $5,000,000, or a ConfigurationError at construction.
    expect(status!.remaining.costUsd).toBe(5_000_000);
  });

  it('reserved returns to exactly 0 in every unit after calls of many different prices, and used is the exact nano-USD sum', async () => {
    let n = 0;
    server.use(on('converse', () => converseReply({ inputTokens: 1 + (n++ % 97) * 13, outputTokens: 1 + (n % 31) * 7, cacheReadInputTokens: n % 5, cacheWriteInputTokens: n % 3 })));
    const { client, records, finops } = hostileSetup({ estimator: () => 1_333, budgets: [{ name: 'usd', limit: { costUsd: 1_000 }, window: 'total' }, { name: 'tok', per: 'tenant', limit: { tokens: 1e9 }, window: 'total' }] });
    await Promise.all(Array.from({ length: 300 }, (_, i) => client.send(new ConverseCommand({ ...say('x', i % 2 === 0 ? HAIKU : 'us.amazon.nova-micro-v1:0', 1_000), ...(i % 3 === 0 ? { serviceTier: { type: 'flex' as const } } : {}) }))));
    await tick(10);
    const [usd] = await finops.budgets.status();
    expect(usd!.used.costUsd * 1e9).toBe(records.reduce((s, r) => s + Math.round(r.costUsd! * 1e9), 0));
    await expectNothingReserved(finops);
  });
});

describe('admission never holds a call forever', () => {
  it('an estimator that never answers does not stop the call: after a minute the heuristic stands in', async () => {
    const seen = countConverse(server);
    const { client, records } = hostileSetup({ estimator: () => new Promise<number>(() => undefined), budgets: [{ name: 'b', limit: { tokens: 1e6 }, window: 'total' }] });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const sent = client.send(new ConverseCommand(say('x', HAIKU, 10))).then(() => 'sent', (e: unknown) => String(e));
    await vi.advanceTimersByTimeAsync(60_000);
    vi.useRealTimers();
    const verdict = await Promise.race([sent, tick(2_000).then(() => 'still waiting on the estimator')]);
    // Held: nothing sent, nothing recorded, no error — the caller's send() never settles (a stalled
    // count-tokens request does the same to every budgeted call). Should be: a bounded wait, then the heuristic.
    expect({ verdict, requests: seen.requests, records: records.length }).toEqual({ verdict: 'sent', requests: 1, records: 1 });
  });
});

describe('listeners that throw', () => {
  it('an onBudgetEvent that throws on a rejection does not replace the BudgetExceededError, nor an unpriced refusal', async () => {
    server.use(on('converse', () => converseReply()));
    const finops = bedrockFinOps({
      onBudgetEvent: () => {
        throw new Error('listener down');
      },
      budgets: [{ name: 'tiny', limit: { tokens: 1, costUsd: 1 }, window: 'total' }],
    });
    const client = makeClient(finops, { maxAttempts: 1 });
    await expect(client.send(new ConverseCommand(say('x', HAIKU, 10)))).rejects.toSatisfy(isBudgetExceededError);
    await expect(client.send(new ConverseCommand(say('x', 'acme.unpriced-v1:0', 10)))).rejects.toSatisfy(isUnpricedModelError);
    await expectNothingReserved(finops);
  });
});
