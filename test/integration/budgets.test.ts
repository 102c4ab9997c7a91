import { ConverseCommand, ConverseStreamCommand, InvokeModelCommand } from '@aws-sdk/client-bedrock-runtime';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bedrockFinOps, BudgetExceededError, isBudgetExceededError, isConfigurationError, isModelNotAllowedError, withAttribution, type BedrockFinOpsOptions, type BudgetEvent, type UsageRecord } from '../../src/index.js';
import { converseStreamEvent, streamException } from '../../src/testing/index.js';
import { awsError, brokenEventStream, eventStream, json, jsonBody, makeClient, useMockBedrock, on, tick, converseReply, drain } from '../helpers/bedrock.js';

const server = useMockBedrock();
afterEach(() => {
  vi.useRealTimers();
});

const MODEL = 'us.amazon.nova-lite-v1:0';
const say = (text = 'hello') => ({ modelId: MODEL, messages: [{ role: 'user' as const, content: [{ text }] }], inferenceConfig: { maxTokens: 50 } });

/** A Bedrock stand-in that answers with fixed usage and counts the requests it saw. */
function bedrock(usage = { inputTokens: 10, outputTokens: 50 }) {
  const seen = { requests: 0 };
  server.use(
    on('converse', () => {
      seen.requests++;
      // No text with 0 output tokens: a 0 count next to returned text is not believed (charged an estimate).
      return converseReply(usage, usage.outputTokens === 0 ? '' : 'x');
    }),
  );
  return seen;
}

// With an exact estimator, a call reserves exactly what it then uses: 10 input + 50 output.
const exact: BedrockFinOpsOptions = { estimator: () => 10 };

function setup(options: BedrockFinOpsOptions) {
  const records: UsageRecord[] = [];
  const events: BudgetEvent[] = [];
  const finops = bedrockFinOps({ ...exact, ...options, onUsage: (r) => records.push(r), onBudgetEvent: (e) => events.push(e) });
  return { finops, client: makeClient(finops), records, events };
}

describe('budgets: admission', () => {
  it('admits calls until the next one would pass the limit, then throws before sending anything', async () => {
    const seen = bedrock();
    const { client, finops } = setup({ budgets: [{ name: 'daily', limit: { tokens: 150 }, window: 'day' }] });
    await client.send(new ConverseCommand(say()));
    await client.send(new ConverseCommand(say()));
    const error = await client.send(new ConverseCommand(say())).catch((e: unknown) => e);
    expect(seen.requests).toBe(2);
    expect(error).toBeInstanceOf(BudgetExceededError);
    expect(isBudgetExceededError(error)).toBe(true);
    expect(error).toMatchObject({ name: 'BudgetExceededError', budget: 'daily', key: undefined, limitType: 'tokens', limit: 150, used: 120, reserved: 0, requested: 60 });
    const resetAt = (error as BudgetExceededError).resetAt!;
    expect(resetAt.getTime() % 86_400_000).toBe(0);
    expect((error as Error).message).toContain('Budget "daily" would be exceeded');
    const [status] = await finops.budgets.status();
    expect(status).toMatchObject({ budget: 'daily', used: { tokens: 120 }, reserved: { tokens: 0 }, remaining: { tokens: 30 } });
  });

  it('reserves the request max tokens as output, or defaultMaxOutputTokens when it sets none', async () => {
    bedrock();
    const { client } = setup({ budgets: [{ name: 'out', limit: { outputTokens: 1000 }, window: 'day' }], defaultMaxOutputTokens: 2000 });
    const noCap = { modelId: MODEL, messages: [{ role: 'user' as const, content: [{ text: 'x' }] }] };
    await expect(client.send(new ConverseCommand(noCap))).rejects.toMatchObject({ requested: 2000, limitType: 'outputTokens' });
    await expect(client.send(new ConverseCommand(say()))).resolves.toBeDefined();
  });

  it('reads the InvokeModel output cap of each body format', async () => {
    server.use(on('invoke', () => json({ generation: 'x' }, { 'x-amzn-bedrock-input-token-count': '1', 'x-amzn-bedrock-output-token-count': '1' })));
    const { client, events } = setup({ budgets: [{ name: 'out', limit: { outputTokens: 1 }, window: 'day' }] });
    const bodies = [
      { anthropic_version: 'bedrock-2023-05-31', max_tokens: 111, messages: [{ role: 'user', content: 'say "max_tokens": 5' }] },
      { prompt: 'x', max_gen_len: 222 },
      { inputText: 'x', textGenerationConfig: { maxTokenCount: 333 } },
      { schemaVersion: 'messages-v1', messages: [], inferenceConfig: { max_new_tokens: 444 } },
    ];
    const seen: number[] = [];
    for (const body of bodies) {
      const e = await client.send(new InvokeModelCommand({ modelId: 'meta.llama3-8b-instruct-v1:0', body: jsonBody(body) })).catch((err: unknown) => err as BudgetExceededError);
      seen.push((e as BudgetExceededError).requested);
    }
    expect(seen).toEqual([111, 222, 333, 444]);
    expect(events.map((e) => [e.type, e.requested])).toEqual([
      ['rejected', 111],
      ['rejected', 222],
      ['rejected', 333],
      ['rejected', 444],
    ]);
  });

  it('lets a warn budget through and fires an exceeded event', async () => {
    const seen = bedrock();
    const { client, events } = setup({ budgets: [{ name: 'soft', limit: { tokens: 100 }, window: 'hour', action: 'warn' }] });
    for (let i = 0; i < 3; i++) await client.send(new ConverseCommand(say()));
    expect(seen.requests).toBe(3);
    expect(events.filter((e) => e.type === 'exceeded').map((e) => [e.budget, e.used, e.requested])).toEqual([
      ['soft', 60, 60],
      ['soft', 120, 60],
    ]);
  });

  it('gives each value of a `per` key its own counter, and ignores calls without the key', async () => {
    bedrock();
    const { client, finops } = setup({ budgets: [{ name: 'tenant', per: 'tenant', limit: { tokens: 60 }, window: 'day' }] });
    await withAttribution({ tenant: 'a' }, () => client.send(new ConverseCommand(say())));
    await withAttribution({ tenant: 'b' }, () => client.send(new ConverseCommand(say())));
    await expect(withAttribution({ tenant: 'a' }, () => client.send(new ConverseCommand(say())))).rejects.toMatchObject({ budget: 'tenant', key: 'a' });
    await client.send(new ConverseCommand(say()));
    await client.send(new ConverseCommand(say()));
    const status = await finops.budgets.status();
    expect(status.map((s) => [s.key, s.used.tokens]).sort()).toEqual([
      ['a', 60],
      ['b', 60],
    ]);
  });

  it('matches on attribution and on the base model with globs, so profiles and ARNs match too', async () => {
    bedrock();
    const { client } = setup({ budgets: [{ name: 'nova-search', match: { team: 'search', model: 'amazon.nova-*' }, limit: { tokens: 0 }, window: 'day' }] });
    await expect(withAttribution({ team: 'search' }, () => client.send(new ConverseCommand(say())))).rejects.toMatchObject({ budget: 'nova-search' });
    await expect(
      withAttribution({ team: 'search' }, () => client.send(new ConverseCommand({ ...say(), modelId: 'arn:aws:bedrock:us-east-1:1:inference-profile/eu.amazon.nova-pro-v1:0' }))),
    ).rejects.toMatchObject({ budget: 'nova-search' });
    await expect(withAttribution({ team: 'ads' }, () => client.send(new ConverseCommand(say())))).resolves.toBeDefined();
    await expect(withAttribution({ team: 'search' }, () => client.send(new ConverseCommand({ ...say(), modelId: 'anthropic.claude-3-haiku-20240307-v1:0' })))).resolves.toBeDefined();
  });

  it('enforces cost budgets with the estimate priced at the model rate, and commits the actual cost', async () => {
    bedrock({ inputTokens: 1_000_000, outputTokens: 0 });
    // Nova Lite on a US profile: $0.06 per million input tokens, $0.24 per million output.
    const { client, finops } = setup({ estimator: () => 1_000_000, budgets: [{ name: 'usd', limit: { costUsd: 0.15 }, window: 'month' }] });
    const call = () => client.send(new ConverseCommand({ ...say(), inferenceConfig: { maxTokens: 0 } }));
    await call();
    await call();
    await expect(call()).rejects.toMatchObject({ limitType: 'costUsd', limit: 0.15 });
    const [status] = await finops.budgets.status();
    expect(status!.used.costUsd).toBeCloseTo(0.12, 12);
  });

  it('reserves against every matching budget atomically: a rejection by one holds nothing in the others', async () => {
    bedrock();
    const { client, finops } = setup({
      budgets: [
        { name: 'big', limit: { tokens: 10_000 }, window: 'day' },
        { name: 'small', limit: { tokens: 100 }, window: 'day' },
      ],
    });
    await client.send(new ConverseCommand(say()));
    await expect(client.send(new ConverseCommand(say()))).rejects.toMatchObject({ budget: 'small' });
    const status = await finops.budgets.status();
    expect(status.map((s) => [s.budget, s.used.tokens, s.reserved.tokens])).toEqual([
      ['big', 60, 0],
      ['small', 60, 0],
    ]);
  });

  it('never overshoots under 1,000 concurrent calls with exact estimates', async () => {
    const seen = bedrock();
    // A total window: a minute window could roll over mid-test and admit a second batch.
    const { client, finops } = setup({ budgets: [{ name: 'burst', limit: { tokens: 60 * 250 + 59 }, window: 'total' }] });
    const results = await Promise.allSettled(Array.from({ length: 1000 }, () => client.send(new ConverseCommand(say()))));
    const admitted = results.filter((r) => r.status === 'fulfilled').length;
    const rejected = results.filter((r) => r.status === 'rejected' && isBudgetExceededError(r.reason)).length;
    expect(admitted).toBe(250);
    expect(rejected).toBe(750);
    expect(seen.requests).toBe(250);
    const [status] = await finops.budgets.status();
    expect(status).toMatchObject({ used: { tokens: 15_000 }, reserved: { tokens: 0 } });
  }, 60_000);

  it('returns reserved to exactly 0 in every unit after 1,000 concurrent calls under token and cost limits, and sums cost exactly', async () => {
    bedrock({ inputTokens: 7, outputTokens: 13 });
    // Estimates differ from the actual usage, so every commit releases more than it adds.
    const { client, finops, records } = setup({
      estimator: () => 31,
      budgets: [
        { name: 'cost', limit: { costUsd: 1 }, window: 'day' },
        { name: 'tokens', limit: { tokens: 10_000_000 }, window: 'day' },
      ],
    });
    const results = await Promise.allSettled(Array.from({ length: 1000 }, () => client.send(new ConverseCommand(say()))));
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    const statuses = await finops.budgets.status();
    for (const status of statuses) expect(status.reserved).toEqual({ tokens: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 });
    // Money is summed in integer nano-USD: the budget's used cost is the exact sum of the records' rounded costs.
    const nano = records.reduce((sum, r) => sum + Math.round(r.costUsd! * 1e9), 0);
    expect(statuses[0]!.used.costUsd).toBe(nano / 1e9);
    expect(statuses[1]!.used.tokens).toBe(1000 * 20);
  }, 60_000);
});

describe('budgets: windows', () => {
  it.each([
    ['minute', Date.UTC(2026, 10, 26, 10, 15, 59, 900), Date.UTC(2026, 10, 26, 10, 16)],
    ['hour', Date.UTC(2026, 10, 26, 10, 59, 59), Date.UTC(2026, 10, 26, 11)],
    ['day', Date.UTC(2026, 10, 26, 23, 59, 59), Date.UTC(2026, 10, 27)],
    ['week', Date.UTC(2026, 10, 29, 23, 59, 59), Date.UTC(2026, 10, 30)], // Sunday → Monday
    ['month', Date.UTC(2026, 10, 30, 23, 59, 59), Date.UTC(2026, 11, 1)],
  ] as const)('a %s budget resets exactly at the UTC boundary', async (window, before, boundary) => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(before);
    bedrock();
    const { client } = setup({ budgets: [{ name: 'w', limit: { tokens: 60 }, window }] });
    await client.send(new ConverseCommand(say()));
    const error = (await client.send(new ConverseCommand(say())).catch((e: unknown) => e)) as BudgetExceededError;
    expect(error.resetAt?.getTime()).toBe(boundary);
    vi.setSystemTime(boundary - 1);
    await expect(client.send(new ConverseCommand(say()))).rejects.toBeInstanceOf(BudgetExceededError);
    vi.setSystemTime(boundary);
    await expect(client.send(new ConverseCommand(say()))).resolves.toBeDefined();
  });

  it('a total budget never resets', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.UTC(2026, 0, 1));
    bedrock();
    const { client } = setup({ budgets: [{ name: 'forever', limit: { tokens: 60 }, window: 'total' }] });
    await client.send(new ConverseCommand(say()));
    vi.setSystemTime(Date.UTC(2030, 0, 1));
    await expect(client.send(new ConverseCommand(say()))).rejects.toMatchObject({ resetAt: undefined });
  });

  it('fires each alertAt threshold once per window', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.UTC(2026, 10, 26, 10, 0));
    bedrock();
    const { client, events } = setup({ budgets: [{ name: 'alerts', limit: { tokens: 300 }, window: 'hour', alertAt: [0.5, 0.8, 1] }] });
    for (let i = 0; i < 5; i++) await client.send(new ConverseCommand(say()));
    vi.setSystemTime(Date.UTC(2026, 10, 26, 11, 0));
    for (let i = 0; i < 3; i++) await client.send(new ConverseCommand(say()));
    const thresholds = events.filter((e) => e.type === 'threshold').map((e) => [e.windowStart.getUTCHours(), e.threshold, e.used]);
    expect(thresholds).toEqual([
      [10, 0.5, 180],
      [10, 0.8, 240],
      [10, 1, 300],
      [11, 0.5, 180],
    ]);
  });
});

describe('budgets: every settle path releases its reservation', () => {
  const budgets = [{ name: 'b', limit: { tokens: 1_000_000 }, window: 'day' as const }];
  const metadata = converseStreamEvent('metadata', { usage: { inputTokens: 7, outputTokens: 3, totalTokens: 10 }, metrics: { latencyMs: 1 } });
  const start = converseStreamEvent('messageStart', { role: 'assistant' });
  const delta = converseStreamEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'x' } });

  async function reservedAfter(run: (client: ReturnType<typeof makeClient>) => Promise<void>) {
    const { client, finops } = setup({ budgets });
    await run(client);
    await tick(20);
    const [status] = await finops.budgets.status();
    return status!;
  }

  it('success', async () => {
    bedrock();
    const s = await reservedAfter(async (c) => {
      await c.send(new ConverseCommand(say()));
    });
    expect(s).toMatchObject({ used: { tokens: 60 }, reserved: { tokens: 0 } });
  });

  it('service error', async () => {
    server.use(on('converse', () => awsError(400, 'ValidationException')));
    const s = await reservedAfter(async (c) => {
      await c.send(new ConverseCommand(say())).catch(() => undefined);
    });
    expect(s).toMatchObject({ used: { tokens: 0 }, reserved: { tokens: 0 } });
  });

  it('stream consumed', async () => {
    server.use(on('converse-stream', () => eventStream([start, delta, metadata])));
    const s = await reservedAfter(async (c) => {
      const out = await c.send(new ConverseStreamCommand(say()));
      await drain(out.stream);
    });
    expect(s).toMatchObject({ used: { tokens: 10 }, reserved: { tokens: 0 } });
  });

  it('stream broken by an exception event', async () => {
    server.use(on('converse-stream', () => eventStream([start, delta, streamException('modelStreamErrorException', 'x')])));
    const s = await reservedAfter(async (c) => {
      const out = await c.send(new ConverseStreamCommand(say()));
      try {
        await drain(out.stream);
      } catch {
        /* expected */
      }
    });
    expect(s.reserved.tokens).toBe(0);
  });

  it('stream broken by the connection', async () => {
    server.use(on('converse-stream', () => brokenEventStream([start, delta])));
    const s = await reservedAfter(async (c) => {
      const out = await c.send(new ConverseStreamCommand(say()));
      try {
        await drain(out.stream);
      } catch {
        /* expected */
      }
    });
    expect(s.reserved.tokens).toBe(0);
  });

  it('stream abandoned', async () => {
    server.use(on('converse-stream', () => eventStream([start, delta, delta, delta, metadata])));
    const s = await reservedAfter(async (c) => {
      const out = await c.send(new ConverseStreamCommand(say()));
      await drain(out.stream, 1);
    });
    expect(s.reserved.tokens).toBe(0);
  });
});

describe('estimators', () => {
  it("estimator 'count-tokens' reserves Bedrock's exact count for the base model", async () => {
    bedrock();
    const counted: string[] = [];
    server.use(
      on('count-tokens', ({ params }) => {
        counted.push(decodeURIComponent(params.modelId));
        return json({ inputTokens: 1234 });
      }),
    );
    const { client, events } = setup({
      estimator: 'count-tokens',
      countTokensClient: makeClient(),
      budgets: [{ name: 'in', limit: { inputTokens: 1000 }, window: 'day' }],
    });
    await expect(client.send(new ConverseCommand(say()))).rejects.toMatchObject({ requested: 1234, limitType: 'inputTokens' });
    expect(counted).toEqual(['amazon.nova-lite-v1:0']);
    expect(events[0]).toMatchObject({ type: 'rejected', requested: 1234 });
  });

  it('falls back to the heuristic when CountTokens fails, and when a custom estimator throws', async () => {
    bedrock();
    server.use(on('count-tokens', () => awsError(400, 'ValidationException', 'model not supported')));
    const text = 'x'.repeat(400);
    const heuristic = Math.ceil(400 / 3.5) + 4;
    const a = setup({ estimator: 'count-tokens', countTokensClient: makeClient(undefined, { maxAttempts: 1 }), budgets: [{ name: 'in', limit: { inputTokens: 1 }, window: 'day' }] });
    await expect(a.client.send(new ConverseCommand(say(text)))).rejects.toMatchObject({ requested: heuristic });
    const b = setup({
      estimator: () => {
        throw new Error('estimator bug');
      },
      budgets: [{ name: 'in', limit: { inputTokens: 1 }, window: 'day' }],
    });
    await expect(b.client.send(new ConverseCommand(say(text)))).rejects.toMatchObject({ requested: heuristic });
  });
});

describe('model policies', () => {
  it('rejects a forbidden model before sending, and allows the rest', async () => {
    const seen = bedrock();
    const { client } = setup({
      policies: [
        { name: 'search-cheap', match: { team: 'search' }, allowModels: ['amazon.nova-*', 'anthropic.claude-*haiku*'] },
        { name: 'no-opus', denyModels: ['anthropic.claude-opus-*'] },
      ],
    });
    const opus = { ...say(), modelId: 'us.anthropic.claude-opus-4-1-20250805-v1:0' };
    const sonnet = { ...say(), modelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0' };
    const error = await withAttribution({ team: 'search' }, () => client.send(new ConverseCommand(sonnet))).catch((e: unknown) => e);
    expect(isModelNotAllowedError(error)).toBe(true);
    expect(error).toMatchObject({ policy: 'search-cheap', modelId: sonnet.modelId, baseModelId: 'anthropic.claude-sonnet-4-5-20250929-v1:0' });
    await expect(client.send(new ConverseCommand(opus))).rejects.toMatchObject({ name: 'ModelNotAllowedError', policy: 'no-opus' });
    await withAttribution({ team: 'search' }, () => client.send(new ConverseCommand(say())));
    await withAttribution({ team: 'ads' }, () => client.send(new ConverseCommand(sonnet)));
    expect(seen.requests).toBe(2);
  });
});

describe('status and check', () => {
  it('check answers without reserving; status shows limit, used, reserved and remaining', async () => {
    bedrock();
    const { client, finops } = setup({
      attribution: { team: 'search' },
      budgets: [{ name: 'search', match: { team: 'search' }, limit: { tokens: 100 }, window: 'day' }],
      policies: [{ denyModels: ['anthropic.claude-opus-*'] }],
    });
    expect(await finops.budgets.check({}, MODEL)).toMatchObject({ allowed: true, blockedBy: undefined });
    await client.send(new ConverseCommand(say()));
    expect(await finops.budgets.check({}, MODEL, { tokens: 60 })).toMatchObject({ allowed: false, blockedBy: { budget: 'search', limitType: 'tokens' } });
    expect(await finops.budgets.check({}, MODEL, { tokens: 40 })).toMatchObject({ allowed: true });
    expect(await finops.budgets.check({}, 'anthropic.claude-opus-4-1-20250805-v1:0')).toMatchObject({ allowed: false, deniedByPolicy: 'policies[0]' });
    const [status] = await finops.budgets.status();
    expect(status).toMatchObject({ budget: 'search', window: 'day', limit: { tokens: 100 }, used: { tokens: 60 }, reserved: { tokens: 0 }, remaining: { tokens: 40 }, action: 'block' });
  });
});

describe('status and check when the store cannot be read', () => {
  it('answers with the last state this process saw, marked stale, instead of throwing', async () => {
    bedrock();
    const { FakeStore } = await import('../helpers/fake-store.js');
    const store = new FakeStore();
    const { client, finops } = setup({ budgetStore: store, budgets: [{ name: 'b', limit: { tokens: 1000 }, window: 'day' }] });
    await client.send(new ConverseCommand(say()));
    store.readMode = 'reject';
    const [status] = await finops.budgets.status();
    expect(status).toMatchObject({ budget: 'b', stale: true, used: { tokens: 60 }, reserved: { tokens: 0 }, remaining: { tokens: 940 } });
    expect(await finops.budgets.check({}, MODEL)).toMatchObject({ allowed: true, stale: true });
    store.readMode = 'sync';
    expect((await finops.budgets.status())[0]).not.toHaveProperty('stale');
  });
});

describe('invalid configuration', () => {
  it.each([
    [{ budgets: [{ name: 'a', limit: {}, window: 'day' }] }, 'budgets[0] ("a").limit'],
    [{ budgets: [{ name: 'a', limit: { tokens: -1 }, window: 'day' }] }, 'budgets[0] ("a").limit.tokens'],
    [{ budgets: [{ name: 'a', limit: { dollars: 5 }, window: 'day' }] }, 'budgets[0] ("a").limit.dollars'],
    [{ budgets: [{ name: 'a', limit: { tokens: 1 }, window: 'fortnight' }] }, 'budgets[0] ("a").window'],
    [{ budgets: [{ name: 'a', limit: { tokens: 1 }, window: 'day' }, { name: 'a', limit: { tokens: 1 }, window: 'day' }] }, 'budgets[1] ("a").name'],
    [{ budgets: [{ name: '', limit: { tokens: 1 }, window: 'day' }] }, 'budgets[0].name'],
    [{ budgets: [{ name: 'a', limit: { tokens: 1 }, window: 'day', action: 'shout' }] }, 'budgets[0] ("a").action'],
    [{ budgets: [{ name: 'a', limit: { tokens: 1 }, window: 'day', alertAt: [0] }] }, 'budgets[0] ("a").alertAt[0]'],
    [{ budgets: [{ name: 'a', limit: { tokens: 1 }, window: 'day', match: { team: 5 } }] }, 'budgets[0] ("a").match.team'],
    [{ policies: [{ name: 'p' }] }, 'policies[0]'],
    [{ estimator: 'count-tokens' }, 'countTokensClient'],
    [{ onStoreError: 'maybe' }, 'onStoreError'],
    [{ pricing: { discount: 1.5 } }, 'pricing.discount'],
    [{ maxValuesPerKey: 0 }, 'maxValuesPerKey'],
    [{ provisioned: { 'not-an-arn': { model: 'x' } } }, 'provisioned["not-an-arn"]'],
    [{ budgets: [{ name: 'a', limit: { tokens: 1 }, window: 'day', match: { Team: 'x' } }] }, 'budgets[0] ("a").match.Team'],
    [{ budgets: [{ name: 'a', limit: { tokens: 1 }, window: 'day', per: 'tenantId' }] }, 'budgets[0] ("a").per'],
    [{ budgets: [{ name: 'a\u0001b', limit: { tokens: 1 }, window: 'day' }] }, 'budgets[0].name'],
  ])('throws at construction naming the field: %j', (options, field) => {
    let caught: unknown;
    try {
      bedrockFinOps(options as BedrockFinOpsOptions);
    } catch (e) {
      caught = e;
    }
    expect(isConfigurationError(caught)).toBe(true);
    expect((caught as { field: string }).field).toBe(field);
  });

  it.each([
    [{ budget: [] }, 'budget', 'budgets'],
    [{ onUsgae: () => undefined }, 'onUsgae', 'onUsage'],
    [{ attributions: {} }, 'attributions', 'attribution'],
    [{ budgets: [{ name: 'a', limit: { tokens: 1 }, window: 'day', windows: 'day' }] }, 'budgets[0] ("a").windows', 'window'],
    [{ budgets: [{ name: 'a', limit: { token: 1 }, window: 'day' }] }, 'budgets[0] ("a").limit.token', 'tokens'],
    [{ policies: [{ allowModel: ['x'] }] }, 'policies[0].allowModel', 'allowModels'],
    [{ provisioned: { 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/x': { model: 'm', fallbak: 'f' } } }, 'provisioned["arn:aws:bedrock:us-east-1:123456789012:provisioned-model/x"].fallbak', 'fallback'],
    [{ pricing: { overide: {} } }, 'pricing.overide', 'overrides'],
    [{ fallback: { cooldown: 5 } }, 'fallback.cooldown', 'cooldownMs'],
  ])('rejects the unknown option key in %j, naming it and the closest known key', (options, field, suggestion) => {
    let caught: unknown;
    try {
      bedrockFinOps(options as BedrockFinOpsOptions);
    } catch (e) {
      caught = e;
    }
    expect(isConfigurationError(caught)).toBe(true);
    expect((caught as { field: string }).field).toBe(field);
    expect((caught as Error).message).toContain(`did you mean "${suggestion}"`);
  });
});

describe('rule matching reads only what a call carries', () => {
  it("treats per: 'constructor' and match: { constructor: '*' } like any absent key (no prototype members)", async () => {
    const seen = bedrock();
    const { client, finops } = setup({
      budgets: [
        { name: 'per-ctor', per: 'constructor', limit: { tokens: 1 }, window: 'day' },
        { name: 'match-ctor', match: { constructor: '*' }, limit: { tokens: 1 }, window: 'day' },
      ],
    });
    await client.send(new ConverseCommand(say()));
    await client.send(new ConverseCommand(say()));
    expect(seen.requests).toBe(2);
    const statuses = await finops.budgets.status();
    expect(statuses.map((s) => [s.budget, s.key, s.used.tokens])).toEqual([['match-ctor', undefined, 0]]);
    // A call that does carry the key is subject to both.
    const error = await withAttribution({ constructor: 'c' }, () => client.send(new ConverseCommand(say()))).catch((e: unknown) => e);
    expect(isBudgetExceededError(error)).toBe(true);
  });
});

describe('budget metrics', () => {
  it('reports usage and limit gauges, rejections, threshold alerts and policy rejections', async () => {
    const { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } = await import('@opentelemetry/sdk-metrics');
    const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 });
    const meterProvider = new MeterProvider({ readers: [reader] });
    bedrock();
    const { client } = setup({
      meterProvider,
      budgets: [{ name: 'm', per: 'tenant', limit: { tokens: 100 }, window: 'day', alertAt: [0.5] }],
      policies: [{ name: 'no-opus', denyModels: ['*opus*'] }],
    });
    await withAttribution({ tenant: 't1' }, () => client.send(new ConverseCommand(say())));
    await withAttribution({ tenant: 't1' }, () => client.send(new ConverseCommand(say()))).catch(() => undefined);
    await client.send(new ConverseCommand({ ...say(), modelId: 'anthropic.claude-opus-4-1-20250805-v1:0' })).catch(() => undefined);
    const { resourceMetrics } = await reader.collect();
    const all = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    const points = (name: string) => all.find((m) => m.descriptor.name === name)?.dataPoints.map((p) => ({ ...p.attributes, value: p.value as number })) ?? [];
    expect(points('bedrock_finops.budget.used')).toEqual([{ 'bedrock_finops.budget': 'm', 'bedrock_finops.budget.key': 't1', 'bedrock_finops.limit.type': 'tokens', value: 60 }]);
    expect(points('bedrock_finops.budget.limit')).toEqual([{ 'bedrock_finops.budget': 'm', 'bedrock_finops.budget.key': 't1', 'bedrock_finops.limit.type': 'tokens', value: 100 }]);
    expect(points('bedrock_finops.budget.rejections')).toEqual([{ 'bedrock_finops.budget': 'm', 'bedrock_finops.limit.type': 'tokens', value: 1 }]);
    expect(points('bedrock_finops.budget.alerts')).toEqual([{ 'bedrock_finops.budget': 'm', 'bedrock_finops.threshold': 0.5, value: 1 }]);
    expect(points('bedrock_finops.policy.rejections')).toEqual([{ 'bedrock_finops.policy': 'no-opus', value: 1 }]);
  });
});
