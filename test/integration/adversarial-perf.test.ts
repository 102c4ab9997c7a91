// Adversarial pass on the perf changes (#18): two stack entries per instance (the per-attempt hook
// marks the instance on the handler context), the call on the handler context (CALL_KEY), no async
// frames on the call path, two generations of committed ids, the fast plausibility check and the
// direct cache-point scan. Each test says what is charged, released and recorded.
import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { InitializeMiddleware, Pluggable } from '@smithy/types';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { delay } from 'msw';
import { describe, expect, it, vi } from 'vitest';
import { attribute, bedrockFinOps, FINOPS_ATTEMPT_MIDDLEWARE, FINOPS_MIDDLEWARE, isConfigurationError, type BedrockFinOps, type BedrockFinOpsOptions, type UsageRecord } from '../../src/index.js';
import { awsError, converseReply, drain, eventStream, makeClient, on, REGION, say, tick, useMockBedrock } from '../helpers/bedrock.js';
import { converseFrames, countConverse, expectNothingReserved, HAIKU, settleSoon } from '../helpers/adversary.js';

const server = useMockBedrock();
const budget = { name: 'b', limit: { tokens: 1_000_000, costUsd: 100 }, window: 'day' as const };
const refuseAll = { name: 'nothing', limit: { tokens: 0 }, window: 'day' as const };

type Stack = BedrockRuntimeClient['middlewareStack'];

/** A retry token: how many retries so far, and the delay before the next. */
interface Token {
  getRetryCount(): number;
  getRetryDelay(): number;
}

/**
 * Retries like the SDK's standard strategy (throttles and transient errors, up to `maxAttempts`
 * attempts), waiting `delayMs` each time. Written against the SDK's `RetryStrategyV2` interface
 * rather than taken from `@smithy/core`, so it works with every SDK version of the matrix (an
 * older SDK's retry middleware does not fit the newest smithy's strategy classes).
 */
function fixedRetries(maxAttempts: number, delayMs: number) {
  const token = (count: number): Token => ({ getRetryCount: () => count, getRetryDelay: () => delayMs });
  return {
    mode: 'standard',
    acquireInitialRetryToken: (): Promise<Token> => Promise.resolve(token(0)),
    refreshRetryTokenForRetry: (previous: Token, error: { errorType?: string }): Promise<Token> => {
      const next = previous.getRetryCount() + 1;
      if (next >= maxAttempts || (error.errorType !== 'THROTTLING' && error.errorType !== 'TRANSIENT')) return Promise.reject(new Error('no retry'));
      return Promise.resolve(token(next));
    },
    recordSuccess: (): void => undefined,
  };
}

/** A real client (HTTP/1.1 for msw) whose retries wait `delayMs` (no random SDK backoff), optionally caching its handlers. */
function retryingClient(
  plugin: Pluggable<never, never> | BedrockFinOps | undefined,
  { maxAttempts = 3, delayMs = 0, cacheMiddleware = false, requestHandler }: { maxAttempts?: number; delayMs?: number; cacheMiddleware?: boolean; requestHandler?: NodeHttpHandler } = {},
): BedrockRuntimeClient {
  const client = new BedrockRuntimeClient({
    region: REGION,
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
    requestHandler: requestHandler ?? new NodeHttpHandler(),
    retryStrategy: fixedRetries(maxAttempts, delayMs),
    cacheMiddleware,
  });
  if (plugin !== undefined) client.middlewareStack.use(plugin as never);
  return client;
}

/** A plugin collecting its records, with a deterministic input estimate and one roomy budget. */
function metered(options: BedrockFinOpsOptions = {}) {
  const records: UsageRecord[] = [];
  const finops = bedrockFinOps({ onUsage: (r) => records.push(r), estimator: () => 500, budgets: [budget], ...options });
  return { finops, records };
}

async function used(finops: BedrockFinOps): Promise<number> {
  return (await finops.budgets.status()).reduce((s, b) => s + b.used.tokens, 0);
}

/** What a promise settles to (or what a send throws synchronously): the value, or `{ rejected }`. */
async function outcome<T>(f: () => Promise<T>): Promise<T | { rejected: unknown }> {
  try {
    return await f();
  } catch (rejected) {
    return { rejected };
  }
}

/** Names of a stack's entries. */
const names = (stack: Stack): string[] => stack.identify().map((e) => e.split(' ')[0] ?? '');

describe('two instances on one call', () => {
  it('client A + command B: refused before sending; neither instance records, reserves or charges anything', async () => {
    const seen = countConverse(server);
    const a = metered();
    const b = metered();
    const client = makeClient(a.finops, { maxAttempts: 1 });
    const command = new ConverseCommand(say('x', HAIKU, 10));
    command.middlewareStack.use(b.finops as never);
    const result = await outcome(() => client.send(command));
    expect(isConfigurationError((result as { rejected: unknown }).rejected)).toBe(true);
    expect({ requests: seen.requests, a: a.records.length, b: b.records.length, usedA: await used(a.finops), usedB: await used(b.finops) }).toEqual({ requests: 0, a: 0, b: 0, usedA: 0, usedB: 0 });
    await expectNothingReserved(a.finops);
    await expectNothingReserved(b.finops);
    // The same client still meters its own calls afterwards (the mark is per call, not per client).
    await client.send(new ConverseCommand(say('x', HAIKU, 10)));
    expect(a.records).toHaveLength(1);
  });

  it('client A + command B whose client also caches its handlers: refused on every send, never sent', async () => {
    const seen = countConverse(server);
    const a = metered({ budgets: [refuseAll] });
    const b = metered();
    const client = retryingClient(a.finops, { maxAttempts: 1, cacheMiddleware: true });
    await expect(client.send(new ConverseCommand(say('x', HAIKU, 10)))).rejects.toMatchObject({ name: 'BudgetExceededError' });
    for (let i = 0; i < 2; i++) {
      const command = new ConverseCommand(say('x', HAIKU, 10));
      command.middlewareStack.use(b.finops as never);
      // With options the SDK resolves a fresh handler (its cache serves only option-less sends).
      const r = await outcome(() => client.send(command, {}));
      expect(isConfigurationError((r as { rejected: unknown }).rejected)).toBe(true);
    }
    expect(seen.requests).toBe(0);
  });

  it('command + command: a second instance on one command is refused when applied', () => {
    const command = new ConverseCommand(say());
    command.middlewareStack.use(bedrockFinOps() as never);
    expect(() => command.middlewareStack.use(bedrockFinOps() as never)).toThrow(/another bedrockFinOps instance/);
  });

  it('the same instance on a client and on its command, sent three times with retries: one record per call, charged once each', async () => {
    let n = 0;
    server.use(on('converse', () => (++n % 2 === 1 ? awsError(429, 'ThrottlingException') : converseReply({ inputTokens: 3, outputTokens: 4 }))));
    const { finops, records } = metered();
    const client = retryingClient(finops);
    for (let i = 0; i < 3; i++) {
      const command = new ConverseCommand(say('x', HAIKU, 10));
      command.middlewareStack.use(finops as never);
      await client.send(command);
    }
    expect(records.map((r) => [r.outcome, r.inputTokens, r.outputTokens])).toEqual(Array.from({ length: 3 }, () => ['success', 3, 4]));
    expect(await used(finops)).toBe(21);
    await expectNothingReserved(finops);
  });

  it('removed by tag, then the same instance re-added: metered once per call', async () => {
    countConverse(server, { inputTokens: 2, outputTokens: 1 });
    const { finops, records } = metered();
    const client = makeClient(finops, { maxAttempts: 1 });
    client.middlewareStack.removeByTag('BEDROCK_FINOPS');
    await client.send(new ConverseCommand(say('x', HAIKU, 10)));
    expect(records).toHaveLength(0);
    client.middlewareStack.use(finops);
    await client.send(new ConverseCommand(say('x', HAIKU, 10)));
    expect(records).toHaveLength(1);
    expect(names(client.middlewareStack).filter((n) => n.startsWith('bedrockFinOps'))).toHaveLength(2);
  });

  it('B applied, removed by tag, A applied, then B applied again to the same client: refused (at apply or at the call), never B metering with A silently dropped', async () => {
    const seen = countConverse(server);
    const a = metered({ budgets: [refuseAll] });
    const b = metered();
    const client = makeClient(b.finops, { maxAttempts: 1 });
    client.middlewareStack.removeByTag('BEDROCK_FINOPS');
    client.middlewareStack.use(a.finops);
    let applied = 'applied';
    try {
      client.middlewareStack.use(b.finops);
    } catch (e) {
      applied = isConfigurationError(e) ? 'refused' : String(e);
    }
    const r = await outcome(() => client.send(new ConverseCommand(say('x', HAIKU, 10))));
    // Observed: applied, and the call sent (1 request), metered by B — A's 0-token budget never saw it.
    // `applied.has(stack)` (src/plugin.ts) skips the "another instance" check because B was applied
    // to this stack once before, and the new orphan clean-up then removes A's live per-attempt hook,
    // so nothing marks the stack as carrying two instances. (Before #18, A's sentinel stayed and
    // the call was refused.)
    const refusal = applied === 'refused' ? 'ConfigurationError' : (r as { rejected?: { name?: unknown } }).rejected?.name;
    expect({ requests: seen.requests, b: b.records.length, refused: refusal === 'ConfigurationError' || refusal === 'BudgetExceededError' }).toEqual({ requests: 0, b: 0, refused: true });
  });

  it('removed by tag, then another instance on the client: only the new one meters, nothing left reserved in either', async () => {
    countConverse(server, { inputTokens: 2, outputTokens: 1 });
    const a = metered({ budgets: [refuseAll] });
    const b = metered();
    const client = makeClient(a.finops, { maxAttempts: 1 });
    client.middlewareStack.removeByTag('BEDROCK_FINOPS');
    client.middlewareStack.use(b.finops);
    await client.send(new ConverseCommand(say('x', HAIKU, 10)));
    expect([a.records.length, b.records.length, await used(b.finops)]).toEqual([0, 1, 3]);
    await expectNothingReserved(a.finops);
    await expectNothingReserved(b.finops);
  });

  it("removed by name (metering alone), then another instance on the client: the orphaned hook goes, the new instance meters", async () => {
    countConverse(server, { inputTokens: 2, outputTokens: 1 });
    const a = metered();
    const b = metered();
    const client = makeClient(a.finops, { maxAttempts: 1 });
    client.middlewareStack.remove(FINOPS_MIDDLEWARE.name);
    client.middlewareStack.use(b.finops);
    await client.send(new ConverseCommand(say('x', HAIKU, 10)));
    expect([a.records.length, b.records.length]).toEqual([0, 1]);
    // One hook left on the stack: the new instance's.
    expect(names(client.middlewareStack).filter((n) => n.startsWith(FINOPS_ATTEMPT_MIDDLEWARE.name))).toHaveLength(1);
  });

  it('removed by name from the client, then another instance on a command: the call is not sent unmetered (refused or metered by the new one)', async () => {
    const seen = countConverse(server, { inputTokens: 2, outputTokens: 1 });
    const a = metered();
    const b = metered();
    const client = makeClient(a.finops, { maxAttempts: 1 });
    client.middlewareStack.remove(FINOPS_MIDDLEWARE.name);
    const command = new ConverseCommand(say('x', HAIKU, 10));
    command.middlewareStack.use(b.finops as never);
    const r = await outcome(() => client.send(command));
    // Observed: refused with "two instances" (the client still carries A's per-attempt hook, which the
    // command's instance cannot see when applied). Fail-closed: nothing sent, nothing charged.
    // Documented remedy: removeByTag('BEDROCK_FINOPS'), which removes the hook too.
    if ((r as { rejected?: unknown }).rejected !== undefined) {
      expect(isConfigurationError((r as { rejected: unknown }).rejected)).toBe(true);
      expect(seen.requests).toBe(0);
    } else expect([seen.requests, b.records.length]).toEqual([1, 1]);
    expect(a.records).toHaveLength(0);
    await expectNothingReserved(b.finops);
  });

  it('60 instances in one process, each on its own client, and a call with each instance on a command of every other client: each meters only its own, every mixed call refused', async () => {
    const seen = countConverse(server, { inputTokens: 1, outputTokens: 1 });
    const all = Array.from({ length: 60 }, () => metered());
    const clients = all.map((m) => makeClient(m.finops, { maxAttempts: 1 }));
    await Promise.all(clients.map((c) => c.send(new ConverseCommand(say('x', HAIKU, 10)))));
    expect(all.map((m) => m.records.length)).toEqual(all.map(() => 1));
    // Hook names are unique per instance.
    const hookNames = clients.map((c) => names(c.middlewareStack).find((n) => n.startsWith(FINOPS_ATTEMPT_MIDDLEWARE.name)));
    expect(new Set(hookNames).size).toBe(60);
    let refused = 0;
    for (let i = 0; i < 60; i += 7) {
      const command = new ConverseCommand(say('x', HAIKU, 10));
      command.middlewareStack.use(all[(i + 1) % 60]!.finops as never);
      const r = await outcome(() => clients[i]!.send(command));
      if (isConfigurationError((r as { rejected?: unknown }).rejected)) refused++;
    }
    expect([refused, seen.requests]).toEqual([9, 60]);
    for (const m of all) await expectNothingReserved(m.finops);
  });

  it('two copies of the library in one process (two versions in node_modules), one instance each: client + command is still refused, never metered by one with the other’s budgets skipped', async () => {
    const seen = countConverse(server);
    // Each copy has its own module state: its own instance counter, starting at 1.
    vi.resetModules();
    const copyA = await import('../../src/index.js');
    vi.resetModules();
    const copyB = await import('../../src/index.js');
    const a = copyA.bedrockFinOps({ budgets: [refuseAll] });
    const b = copyB.bedrockFinOps();
    const client = makeClient(a, { maxAttempts: 1 });
    const command = new ConverseCommand(say('x', HAIKU, 10));
    command.middlewareStack.use(b as never);
    const r = await outcome(() => client.send(command));
    // Observed: sent (1 request) — copy A's 0-token budget never saw the call. Both copies number
    // their first instance 1, so both hooks get the same name (the command's overrides the
    // client's) and the same mark (1 === 1): the stack looks like it carries one instance.
    expect({ requests: seen.requests, refused: ((r as { rejected?: { name?: unknown } }).rejected)?.name }).toEqual({ requests: 0, refused: 'ConfigurationError' });
  });
});

describe('retries: attempts, throttles and what an abort is charged', () => {
  it('429 then success: one record with the success usage, the throttle counted once, nothing reserved', async () => {
    const requests: number[] = [];
    server.use(on('converse', () => (requests.push(1) === 1 ? awsError(429, 'ThrottlingException') : converseReply({ inputTokens: 40, outputTokens: 2 }))));
    const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 });
    const { finops, records } = metered({ meterProvider: new MeterProvider({ readers: [reader] }) });
    const out = await retryingClient(finops).send(new ConverseCommand(say('x', HAIKU, 10)));
    expect(out.$metadata.attempts).toBe(2);
    expect(records.map((r) => [r.outcome, r.usageSource, r.inputTokens, r.outputTokens])).toEqual([['success', 'usage', 40, 2]]);
    expect(await used(finops)).toBe(42);
    const { resourceMetrics } = await reader.collect();
    const throttles = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === 'bedrock_finops.throttles');
    expect(throttles?.dataPoints.map((p) => p.value)).toEqual([1]);
    await expectNothingReserved(finops);
  });

  it('a lost reply (request reached Bedrock, connection reset) then success: one record, the success usage, nothing reserved', async () => {
    const seen = countConverse(server, { inputTokens: 30, outputTokens: 3 });
    const inner = new NodeHttpHandler();
    let calls = 0;
    const lossy = Object.assign(Object.create(inner) as NodeHttpHandler, {
      handle: (...[request, options]: Parameters<NodeHttpHandler['handle']>): ReturnType<NodeHttpHandler['handle']> =>
        inner.handle(request, options).then((r) => {
          if (++calls > 1) return r;
          throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        }),
    });
    const { finops, records } = metered();
    await retryingClient(finops, { requestHandler: lossy }).send(new ConverseCommand(say('x', HAIKU, 10)));
    expect(seen.requests).toBe(2);
    expect(records.map((r) => [r.outcome, r.usageSource, r.inputTokens, r.outputTokens])).toEqual([['success', 'usage', 30, 3]]);
    await expectNothingReserved(finops);
  });

  it('429, then aborted during the backoff: abandoned, charged nothing (the only request was answered with an error)', async () => {
    const requests: number[] = [];
    server.use(on('converse', () => (requests.push(1), awsError(429, 'ThrottlingException'))));
    const { finops, records } = metered();
    const controller = new AbortController();
    const sent = retryingClient(finops, { delayMs: 150 }).send(new ConverseCommand(say('x', HAIKU, 10)), { abortSignal: controller.signal });
    await settleSoon(() => requests.length > 0);
    await tick(30);
    controller.abort();
    await expect(sent).rejects.toBeDefined();
    await settleSoon(() => records.length > 0);
    expect(requests).toHaveLength(1);
    expect(records.map((r) => [r.outcome, r.usageSource, r.inputTokens])).toEqual([['abandoned', 'none', 0]]);
    expect(await used(finops)).toBe(0);
    await expectNothingReserved(finops);
  });

  it('a lost reply, then aborted during the backoff: abandoned, charged the estimate (the lost request may have been billed)', async () => {
    const seen = countConverse(server, { inputTokens: 30, outputTokens: 3 });
    const inner = new NodeHttpHandler();
    const lossy = Object.assign(Object.create(inner) as NodeHttpHandler, {
      handle: (...[request, options]: Parameters<NodeHttpHandler['handle']>): ReturnType<NodeHttpHandler['handle']> =>
        inner.handle(request, options).then(() => {
          throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        }),
    });
    const { finops, records } = metered();
    const controller = new AbortController();
    const sent = retryingClient(finops, { delayMs: 150, requestHandler: lossy }).send(new ConverseCommand(say('x', HAIKU, 10)), { abortSignal: controller.signal });
    await settleSoon(() => seen.requests > 0);
    await tick(30);
    controller.abort();
    await expect(sent).rejects.toBeDefined();
    await settleSoon(() => records.length > 0);
    expect(seen.requests).toBe(1);
    expect(records.map((r) => [r.outcome, r.usageSource, r.inputTokens])).toEqual([['abandoned', 'estimate', 500]]);
    expect(await used(finops)).toBe(500);
    await expectNothingReserved(finops);
  });

  it('aborted while the request is in flight: charged the estimate once; aborted before sending: nothing, nothing sent', async () => {
    let requests = 0;
    server.use(
      on('converse', async () => {
        requests++;
        await delay(150);
        return converseReply({ inputTokens: 10, outputTokens: 10 });
      }),
    );
    const { finops, records } = metered();
    const client = retryingClient(finops);
    const controller = new AbortController();
    const sent = client.send(new ConverseCommand(say('x', HAIKU, 10)), { abortSignal: controller.signal });
    await settleSoon(() => requests > 0);
    controller.abort();
    await expect(sent).rejects.toBeDefined();
    await expect(client.send(new ConverseCommand(say('x', HAIKU, 10)), { abortSignal: AbortSignal.abort() })).rejects.toBeDefined();
    await settleSoon(() => records.length > 1);
    expect(requests).toBe(1);
    expect(records.map((r) => [r.outcome, r.usageSource, r.inputTokens])).toEqual([
      ['abandoned', 'estimate', 500],
      ['abandoned', 'none', 0],
    ]);
    expect(await used(finops)).toBe(500);
    await expectNothingReserved(finops);
  });
});

describe('asynchronous admission on the promise-chained call path', () => {
  it('aborted while an async estimator is still answering: nothing sent, charged nothing, nothing reserved', async () => {
    const seen = countConverse(server);
    const { finops, records } = metered({ estimator: () => new Promise<number>((resolve) => setTimeout(() => resolve(500), 40)) });
    const controller = new AbortController();
    const sent = retryingClient(finops).send(new ConverseCommand(say('x', HAIKU, 10)), { abortSignal: controller.signal });
    await tick(10);
    controller.abort();
    await expect(sent).rejects.toBeDefined();
    await settleSoon(() => records.length > 0);
    expect(seen.requests).toBe(0);
    expect(records.map((r) => [r.outcome, r.usageSource, r.inputTokens])).toEqual([['abandoned', 'none', 0]]);
    expect(await used(finops)).toBe(0);
    await expectNothingReserved(finops);
  });

  it('one instance on three clients, 30 concurrent calls with an async estimator: every call charged once, nothing reserved', async () => {
    echoUsage();
    const { finops, records } = metered({ estimator: () => Promise.resolve(500) });
    const clients = [retryingClient(finops), retryingClient(finops, { cacheMiddleware: true }), makeClient(finops)];
    await Promise.all(Array.from({ length: 30 }, (_, i) => clients[i % 3]!.send(attribute(new ConverseCommand(say(`i${i + 1}`, HAIKU, 10)), { tenant: `t${i + 1}` }))));
    expect(records).toHaveLength(30);
    for (const r of records) expect(`t${r.inputTokens}`).toBe(r.attribution.tenant);
    expect(await used(finops)).toBe(Array.from({ length: 30 }, (_, i) => i + 2).reduce((a, b) => a + b, 0));
    await expectNothingReserved(finops);
  });
});

/** Answers each Converse with usage derived from its prompt ("i<n>"): n input tokens, 1 output; prompts starting "slow" wait 150 ms. */
function echoUsage(): { requests: number } {
  const seen = { requests: 0 };
  server.use(
    on('converse', async ({ request }) => {
      seen.requests++;
      const body = (await request.json()) as { messages: { content: { text: string }[] }[] };
      const text = body.messages[0]!.content[0]!.text;
      if (text.startsWith('slow')) await delay(150);
      return converseReply({ inputTokens: Number(text.replace(/\D/g, '')), outputTokens: 1 });
    }),
  );
  return seen;
}

describe('concurrent calls on one client share a stack, never a call', () => {
  it.each([
    ['a fresh handler per send', false],
    ['the SDK handler cache (cacheMiddleware: true, one shared context per command class)', true],
  ])('24 concurrent calls (%s): each record carries its own usage and attribution', async (_, cacheMiddleware) => {
    echoUsage();
    const { finops, records } = metered();
    const client = retryingClient(finops, { cacheMiddleware });
    await Promise.all(Array.from({ length: 24 }, (_, i) => client.send(attribute(new ConverseCommand(say(`i${i + 10}`, HAIKU, 10)), { tenant: `t${i + 10}` }))));
    expect(records).toHaveLength(24);
    for (const r of records) expect(`t${r.inputTokens}`).toBe(r.attribution.tenant);
    expect(await used(finops)).toBe(Array.from({ length: 24 }, (_, i) => i + 10 + 1).reduce((a, b) => a + b, 0));
    await expectNothingReserved(finops);
  });

  it('12 concurrent calls, half aborted in flight: each aborted one charged its estimate, each answered one its usage', async () => {
    const seen = echoUsage();
    const { finops, records } = metered();
    const client = retryingClient(finops);
    const controllers = Array.from({ length: 6 }, () => new AbortController());
    const sends = Array.from({ length: 12 }, (_, i) => {
      const tenant = `t${i}`;
      if (i % 2 === 0) return client.send(attribute(new ConverseCommand(say(`slow${i}`, HAIKU, 10)), { tenant }), { abortSignal: controllers[i / 2]!.signal });
      return client.send(attribute(new ConverseCommand(say(`i${i}`, HAIKU, 10)), { tenant }));
    });
    await settleSoon(() => seen.requests === 12);
    for (const c of controllers) c.abort();
    await Promise.allSettled(sends);
    await settleSoon(() => records.length === 12);
    const byTenant: Record<string, unknown> = Object.fromEntries(records.map((r): [string, unknown] => [r.attribution.tenant ?? '', [r.outcome, r.usageSource, r.inputTokens]]));
    expect(byTenant).toEqual(Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`t${i}`, i % 2 === 0 ? ['abandoned', 'estimate', 500] : ['success', 'usage', i]])));
    await expectNothingReserved(finops);
  });

  it('a user middleware outside ours that hedges (sends the same call twice at once, same handler context), both aborted in flight: each request charged its estimate', async () => {
    const seen = echoUsage();
    const { finops, records } = metered();
    const client = retryingClient(finops, { maxAttempts: 1 });
    const hedge: InitializeMiddleware<object, object> = (next) => (args) => {
      const first = next(args);
      const second = next(args);
      return Promise.allSettled([first, second]).then(([a, b]) => (a.status === 'fulfilled' ? a.value : b.status === 'fulfilled' ? b.value : Promise.reject(a.reason as Error)));
    };
    client.middlewareStack.addRelativeTo(hedge as never, { name: 'userHedge', relation: 'before', toMiddleware: FINOPS_MIDDLEWARE.name });
    const controller = new AbortController();
    const sent = client.send(new ConverseCommand(say('slow7', HAIKU, 10)), { abortSignal: controller.signal });
    await settleSoon(() => seen.requests === 2);
    controller.abort();
    await expect(sent).rejects.toBeDefined();
    await settleSoon(() => records.length === 2);
    // Observed: ['abandoned', 'none', 0] for the first — both per-attempt hooks read the call off the
    // shared handler context, where the second call had replaced the first, so the first call's
    // attempt was never marked in flight. Two requests reached Bedrock; one estimate was charged.
    expect(records.map((r) => [r.outcome, r.usageSource, r.inputTokens])).toEqual([
      ['abandoned', 'estimate', 500],
      ['abandoned', 'estimate', 500],
    ]);
    expect(await used(finops)).toBe(1_000);
    await expectNothingReserved(finops);
  });

  it('a hedging middleware whose calls both succeed: two records, each its own usage', async () => {
    echoUsage();
    const { finops, records } = metered();
    const client = retryingClient(finops, { maxAttempts: 1 });
    const hedge: InitializeMiddleware<object, object> = (next) => (args) => Promise.all([next(args), next(args)]).then(([a]) => a);
    client.middlewareStack.addRelativeTo(hedge as never, { name: 'userHedge', relation: 'before', toMiddleware: FINOPS_MIDDLEWARE.name });
    await client.send(new ConverseCommand(say('i9', HAIKU, 10)));
    expect(records.map((r) => [r.outcome, r.inputTokens])).toEqual([
      ['success', 9],
      ['success', 9],
    ]);
    await expectNothingReserved(finops);
  });
});

describe("a user's middleware that misbehaves around ours", () => {
  it('throws synchronously outside ours: nothing admitted, recorded, reserved or sent', async () => {
    const seen = countConverse(server);
    const { finops, records } = metered();
    const client = retryingClient(finops, { maxAttempts: 1 });
    const boom = new Error('outer');
    client.middlewareStack.addRelativeTo((() => () => {
      throw boom;
    }), { name: 'userOuter', relation: 'before', toMiddleware: FINOPS_MIDDLEWARE.name });
    const r = await outcome(() => client.send(new ConverseCommand(say('x', HAIKU, 10))));
    expect(r).toEqual({ rejected: boom });
    expect([seen.requests, records.length]).toEqual([0, 0]);
    await expectNothingReserved(finops);
  });

  it('throws an Error synchronously inside ours: the caller gets that error as a rejection, recorded as an error, charged nothing, released', async () => {
    const seen = countConverse(server);
    const { finops, records } = metered();
    const client = retryingClient(finops, { maxAttempts: 1 });
    const boom = new Error('inner');
    client.middlewareStack.addRelativeTo((() => () => {
      throw boom;
    }), { name: 'userInner', relation: 'after', toMiddleware: FINOPS_MIDDLEWARE.name });
    const sent = client.send(new ConverseCommand(say('x', HAIKU, 10)));
    expect(sent).toBeInstanceOf(Promise);
    await expect(sent).rejects.toBe(boom);
    expect(seen.requests).toBe(0);
    expect(records.map((r) => [r.outcome, r.usageSource, r.inputTokens])).toEqual([['error', 'none', 0]]);
    expect(await used(finops)).toBe(0);
    await expectNothingReserved(finops);
  });

  it('throws a non-Error value synchronously inside ours: the caller gets that same value, unchanged', async () => {
    countConverse(server);
    const { finops, records } = metered();
    const client = retryingClient(finops, { maxAttempts: 1 });
    const thrown = { code: 'MY_APP_STOP', retryable: false };
    client.middlewareStack.addRelativeTo((() => () => {
      throw thrown; // eslint-disable-line @typescript-eslint/only-throw-error -- a hostile user's middleware
    }), { name: 'userInner', relation: 'after', toMiddleware: FINOPS_MIDDLEWARE.name });
    const r = await outcome(() => client.send(new ConverseCommand(say('x', HAIKU, 10))));
    // Observed: an Error('[object Object]') — sendAndObserve wraps a synchronous non-Error throw
    // (src/middleware.ts, `new Error(String(error))`), so the caller's `e.code` check no longer matches.
    // Before #18 (an async function) the value itself was the rejection.
    const reserved = (await finops.budgets.status()).reduce((s, b) => s + b.reserved.tokens, 0);
    expect({ same: (r as { rejected?: unknown }).rejected === thrown, records: records.map((x) => x.outcome), reserved }).toEqual({ same: true, records: ['error'], reserved: 0 });
  });

  it('returns its output synchronously (not a promise) inside ours: the call still settles and its reservation is released', async () => {
    countConverse(server);
    const { finops, records } = metered();
    const client = retryingClient(finops, { maxAttempts: 1 });
    const cached = { output: { $metadata: {}, output: { message: { role: 'assistant', content: [{ text: 'cached' }] } }, stopReason: 'end_turn', usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 } }, response: {} };
    client.middlewareStack.addRelativeTo((() => () => cached) as never, { name: 'userCache', relation: 'after', toMiddleware: FINOPS_MIDDLEWARE.name });
    const r = await outcome(() => client.send(new ConverseCommand(say('x', HAIKU, 10))));
    // Observed: a TypeError ("sent.then is not a function") thrown synchronously out of
    // client.send after admission: no record, and the estimate stays reserved until the lease
    // runs out. Before #18, `await router.send(...)` accepted a plain value.
    const reserved = (await finops.budgets.status()).reduce((s, b) => s + b.reserved.tokens, 0);
    expect({ rejected: String((r as { rejected?: unknown }).rejected), records: records.length, reserved }).toEqual({ rejected: 'undefined', records: 1, reserved: 0 });
  });

  it('a finalizeRequest middleware (inside the retries) that throws synchronously: an error record, nothing charged or reserved', async () => {
    const seen = countConverse(server);
    const { finops, records } = metered();
    const client = retryingClient(finops);
    client.middlewareStack.add((() => () => {
      throw new Error('sign failed');
    }), { step: 'finalizeRequest', priority: 'low', name: 'userFinalize' });
    await expect(client.send(new ConverseCommand(say('x', HAIKU, 10)))).rejects.toThrow('sign failed');
    expect(seen.requests).toBe(0);
    expect(records.map((r) => [r.outcome, r.inputTokens])).toEqual([['error', 0]]);
    await expectNothingReserved(finops);
  });
});

describe('provisioned spill still works with the call on the context', () => {
  const ARN = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123def456';
  const FALLBACK = 'us.anthropic.claude-3-5-haiku-20241022-v1:0';
  const provisioned = { [ARN]: { model: 'anthropic.claude-3-5-haiku-20241022-v1:0', fallback: FALLBACK, modelUnits: 1 } };

  it('a throttled provisioned call spills to on-demand: one record, the fallback usage, nothing reserved; concurrent spills do not mix', async () => {
    const requests: string[] = [];
    server.use(
      on('converse', async ({ params, request }) => {
        const id = decodeURIComponent(params.modelId);
        requests.push(id);
        if (id === ARN) return awsError(429, 'ThrottlingException');
        const body = (await request.json()) as { messages: { content: { text: string }[] }[] };
        return converseReply({ inputTokens: Number(body.messages[0]!.content[0]!.text.replace(/\D/g, '')), outputTokens: 5 });
      }),
    );
    const { finops, records } = metered({ provisioned, budgets: [budget] });
    const client = retryingClient(finops);
    await Promise.all(Array.from({ length: 6 }, (_, i) => client.send(attribute(new ConverseCommand({ ...say(`i${100 + i}`), modelId: ARN, inferenceConfig: { maxTokens: 10 } }), { tenant: `t${100 + i}` }))));
    expect(requests.filter((r) => r === FALLBACK)).toHaveLength(6);
    expect(records).toHaveLength(6);
    for (const r of records) {
      expect(r).toMatchObject({ modelId: FALLBACK, fallback: { from: ARN }, outcome: 'success', outputTokens: 5 });
      expect(`t${r.inputTokens}`).toBe(r.attribution.tenant);
    }
    await expectNothingReserved(finops);
  });
});

describe('streams on the new call path', () => {
  it('a ConverseStream stopped early after a retry: one record, the billed usage, nothing reserved', async () => {
    let n = 0;
    server.use(on('converse-stream', () => (++n === 1 ? awsError(503, 'ServiceUnavailableException') : eventStream(converseFrames({ inputTokens: 700, outputTokens: 20 }, 4)))));
    const { finops, records } = metered();
    const out = await retryingClient(finops).send(new ConverseStreamCommand(say('x', HAIKU, 100)));
    await drain(out.stream, 1);
    await settleSoon(() => records.length > 0);
    expect(records.map((r) => [r.outcome, r.usageSource, r.inputTokens, r.outputTokens])).toEqual([['abandoned', 'usage', 700, 20]]);
    await expectNothingReserved(finops);
  });
});

describe('hostile Converse inputs for the cache-point scan', () => {
  it.each([
    ['null blocks and messages', { system: [null, 1, 'x'], messages: [null, { role: 'user', content: [null, { text: 'hi' }] }, { content: null }] }],
    ['non-array content', { messages: [{ role: 'user', content: { cachePoint: { type: 'default' } } }] }],
    ['a cachePoint of null', { messages: [{ role: 'user', content: [{ text: 'hi' }, { cachePoint: null }] }] }],
  ])('%s: never throws out of admission; the call goes or fails as the bare SDK would, nothing left reserved', async (_, shape) => {
    countConverse(server);
    const { finops, records } = metered();
    const client = retryingClient(finops, { maxAttempts: 1 });
    await outcome(() => client.send(new ConverseCommand({ modelId: HAIKU, ...(shape as object) })));
    expect(records.length).toBeLessThanOrEqual(1);
    await expectNothingReserved(finops);
  });

  it('a getter that throws (user code) on a block: nothing sent, nothing reserved', async () => {
    const seen = countConverse(server);
    const { finops } = metered({ budgets: [refuseAll] });
    const client = retryingClient(finops, { maxAttempts: 1 });
    const block = { text: 'hi' };
    Object.defineProperty(block, 'cachePoint', { enumerable: true, get: () => { throw new Error('getter'); } });
    await expect(client.send(new ConverseCommand({ modelId: HAIKU, messages: [{ role: 'user', content: [block] }] } as never))).rejects.toBeDefined();
    expect(seen.requests).toBe(0);
    await expectNothingReserved(finops);
  });
});
