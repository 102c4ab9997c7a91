/**
 * Fourth adversarial pass over the SDK path: calls that WERE sent to Bedrock (and billed) but
 * that the plugin could take for calls a user middleware answered itself (usageSource 'unsent',
 * charged nothing). Each test says what Bedrock was sent, what was charged, released, recorded.
 */
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { HttpHandlerOptions, HttpRequest, HttpResponse, InitializeHandlerOptions, InitializeMiddleware } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { budgeted, countedConverse, until } from '../helpers/budgeted.js';
import { makeClient, REGION, say, tick, useMockBedrock } from '../helpers/bedrock.js';

const server = useMockBedrock();

const HAIKU = 'us.anthropic.claude-3-5-haiku-20241022-v1:0';
const USAGE = { inputTokens: 900, outputTokens: 100, totalTokens: 1_000 };

const setup = budgeted;
const bedrock = (): { requests: number } => countedConverse(server, USAGE);

const BELOW: InitializeHandlerOptions & { name: string } = { step: 'initialize', name: 'userMiddleware' };

const storedConverse = { $metadata: { httpStatusCode: 200 }, output: { message: { role: 'assistant', content: [{ text: 'cached' }] } }, stopReason: 'end_turn', usage: USAGE, metrics: { latencyMs: 1 } };

describe('a call sent to Bedrock is never settled as unsent', () => {
  it('stale-while-revalidate: the cache answers at once and refreshes with next() from a timer; the refresh Bedrock billed is charged', async () => {
    const seen = bedrock();
    const { finops, records, budget } = setup();
    const client = makeClient(finops);
    const swr: InitializeMiddleware<object, object> = (next) => (args) => {
      setTimeout(() => void next(args).catch(() => undefined), 1);
      return Promise.resolve({ output: storedConverse as never, response: {} });
    };
    client.middlewareStack.add(swr as never, BELOW);
    await client.send(new ConverseCommand(say('hi', HAIKU, 200)));
    await until(() => seen.requests === 1 && records.length >= 2);
    await tick(20);
    expect(seen.requests).toBe(1);
    expect(records.map((r) => [r.usageSource, r.inputTokens, r.outputTokens])).toEqual([['unsent', 0, 0], ['usage', 900, 100]]);
    expect(await budget()).toEqual({ used: 1_000, reserved: 0 });
  });

  it('stale-while-revalidate against a budget: the refresh is charged, so the budget holds (the next call is refused)', async () => {
    const seen = bedrock();
    // 1,800 tokens; each call needs 500 in + 200 max out (700) to be admitted and is billed 1,000.
    const { finops, records, budget } = setup({ budgets: [{ name: 'b', limit: { tokens: 1_800 }, window: 'day' }] });
    const client = makeClient(finops);
    let cached: unknown;
    const refreshed: unknown[] = [];
    const swr: InitializeMiddleware<object, object> = (next) => async (args) => {
      if (cached === undefined) {
        const result = await next(args);
        cached = result.output;
        return result;
      }
      setTimeout(() => void next(args).then((r) => refreshed.push(r.output), (e: unknown) => refreshed.push(e)), 1);
      return { output: cached as never, response: {} };
    };
    client.middlewareStack.add(swr as never, BELOW);
    await client.send(new ConverseCommand(say('hi', HAIKU, 200)));
    await client.send(new ConverseCommand(say('hi', HAIKU, 200)));
    await until(() => refreshed.length === 1 && records.length === 3);
    expect(seen.requests).toBe(2);
    // Before: the refresh was charged nothing (used 1,000 for 2,000 billed) and the third call was admitted.
    expect(records.map((r) => [r.usageSource, r.inputTokens, r.outputTokens])).toEqual([['usage', 900, 100], ['unsent', 0, 0], ['usage', 900, 100]]);
    expect(await budget()).toEqual({ used: 2_000, reserved: 0 });
    await expect(client.send(new ConverseCommand(say('other', HAIKU, 200)))).rejects.toMatchObject({ name: 'BudgetExceededError' });
    expect(seen.requests).toBe(2);
  });

  it('handler cache, two concurrent calls both sent: both charged', async () => {
    const seen = bedrock();
    const { finops, records, budget } = setup();
    const client = new BedrockRuntimeClient({ region: REGION, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, requestHandler: new NodeHttpHandler(), cacheMiddleware: true });
    client.middlewareStack.use(finops);
    await Promise.all([client.send(new ConverseCommand(say('a', HAIKU, 200))), client.send(new ConverseCommand(say('b', HAIKU, 200)))]);
    expect(seen.requests).toBe(2);
    expect(records.map((r) => r.usageSource)).toEqual(['usage', 'usage']);
    expect(await budget()).toEqual({ used: 2_000, reserved: 0 });
  });

  it('handler cache, two concurrent calls both sent through a middleware that rebuilds its arguments: both charged', async () => {
    const seen = bedrock();
    const { finops, records, budget } = setup();
    const client = new BedrockRuntimeClient({ region: REGION, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, requestHandler: new NodeHttpHandler(), cacheMiddleware: true });
    client.middlewareStack.use(finops);
    const rebuild: InitializeMiddleware<object, object> = (next) => (args) => next({ input: { ...args.input } });
    client.middlewareStack.add(rebuild as never, BELOW);
    await Promise.all([client.send(new ConverseCommand(say('a', HAIKU, 200))), client.send(new ConverseCommand(say('b', HAIKU, 200)))]);
    expect(seen.requests).toBe(2);
    expect(records.map((r) => r.usageSource)).toEqual(['usage', 'usage']);
    expect(await budget()).toEqual({ used: 2_000, reserved: 0 });
  });

  it('handler cache: the first call settles, the second (arguments rebuilt) sends after it: charged', async () => {
    const seen = bedrock();
    const { finops, records, budget } = setup();
    const client = new BedrockRuntimeClient({ region: REGION, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, requestHandler: new NodeHttpHandler(), cacheMiddleware: true });
    client.middlewareStack.use(finops);
    let n = 0;
    const rebuild: InitializeMiddleware<object, object> = (next) => async (args) => {
      if (++n === 2) await tick(30);
      return next({ input: { ...args.input } });
    };
    client.middlewareStack.add(rebuild as never, BELOW);
    await Promise.all([client.send(new ConverseCommand(say('a', HAIKU, 200))), client.send(new ConverseCommand(say('b', HAIKU, 200)))]);
    expect(seen.requests).toBe(2);
    // Before: ['usage', 'unsent'] and 1,000 charged for two billed requests (the second's attempt
    // was taken for the settled first call's). Now the attempt that came after the call it found
    // had settled is a call of its own (charged what Bedrock billed), and the second call, whose
    // own attempt was never seen, is recorded unsent: one charge per request Bedrock billed.
    expect(records.map((r) => r.usageSource).sort()).toEqual(['unsent', 'usage', 'usage']);
    expect(records.filter((r) => r.usageSource === 'usage').map((r) => [r.inputTokens, r.outputTokens])).toEqual([[900, 100], [900, 100]]);
    expect(await budget()).toEqual({ used: 2_000, reserved: 0 });
  });

  it('a signal whose aborted reads true once, then false: the request handler sends it, and it is charged', async () => {
    const seen = bedrock();
    const { finops, records, budget } = setup();
    const client = makeClient(finops);
    let reads = 0;
    const signal = {
      get aborted() {
        return ++reads === 1;
      },
      onabort: null,
      addEventListener() {},
      removeEventListener() {},
    };
    await client.send(new ConverseCommand(say('hi', HAIKU, 200)), { abortSignal: signal as never });
    expect(seen.requests).toBe(1);
    expect(records.map((r) => [r.usageSource, r.inputTokens, r.outputTokens])).toEqual([['usage', 900, 100]]);
    expect(await budget()).toEqual({ used: 1_000, reserved: 0 });
  });

  it('a request handler that does not honour an abort signal sends a call aborted before its attempt: charged', async () => {
    const seen = bedrock();
    const { finops, records, budget } = setup();
    const inner = new NodeHttpHandler();
    const deaf = {
      handle: (request: HttpRequest, _options?: HttpHandlerOptions): Promise<{ response: HttpResponse }> => inner.handle(request as never, {}),
      updateHttpClientConfig() {},
      httpHandlerConfigs: () => ({}),
      destroy: () => inner.destroy(),
    };
    const client = new BedrockRuntimeClient({ region: REGION, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, requestHandler: deaf as never });
    client.middlewareStack.use(finops);
    const controller = new AbortController();
    // The caller gives up while the request is being built (say, during a slow credential lookup).
    client.middlewareStack.add(((next: (a: unknown) => unknown) => (args: unknown) => {
      controller.abort();
      return next(args);
    }) as never, { step: 'build', name: 'abortsWhileBuilding' });
    await client.send(new ConverseCommand(say('hi', HAIKU, 200)), { abortSignal: controller.signal });
    expect(seen.requests).toBe(1);
    expect(records.map((r) => [r.outcome, r.usageSource, r.inputTokens, r.outputTokens])).toEqual([['success', 'usage', 900, 100]]);
    expect(await budget()).toEqual({ used: 1_000, reserved: 0 });
  });
});
