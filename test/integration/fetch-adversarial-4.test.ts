import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { FetchHttpHandler } from '@smithy/fetch-http-handler';
import { Buffer } from 'node:buffer';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { BedrockFinOps } from '../../src/index.js';
import { expectNothingReserved } from '../helpers/adversary.js';
import { json } from '../helpers/bedrock.js';
import { bedrockUrl, converseRequest, fakeFetch, post, restoreGlobalFetch, totalBudget, usedTokens } from '../helpers/fetch.js';

// A fourth adversarial pass on the fetch path: each test fails on the code before its fix, except those that say
// they guard one.

const NOVA = 'us.amazon.nova-lite-v1:0';
const converseReply = (inputTokens = 700) =>
  json({ output: { message: { role: 'assistant', content: [{ text: 'ok' }] } }, stopReason: 'end_turn', usage: { inputTokens, outputTokens: 50, totalTokens: inputTokens + 50 } });

const setup = totalBudget;
restoreGlobalFetch();

/** A client on the fetch-based request handler, sending through whatever the global fetch is at call time. */
function fetchClient(finops: BedrockFinOps, maxAttempts = 1): BedrockRuntimeClient {
  const client = new BedrockRuntimeClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, requestHandler: new FetchHttpHandler(), maxAttempts });
  client.middlewareStack.use(finops);
  return client;
}

/** A network that answers Converse with 30 input tokens when the prompt has `marker` in it, 700 otherwise. */
function network(marker: string) {
  return fakeFetch(async (input, init) => converseReply((await new Request(input, init).text()).includes(marker) ? 30 : 700));
}

describe('fetch adversarial (4): a call with the same model made below an SDK call on a fetch handler', () => {
  it('meters a call to the same model with another body that the base fetch makes while it sends the SDK’s request (it went out unmetered)', async () => {
    const { finops, records } = setup();
    const net = network('summarise');
    let summarised = false;
    const summarising = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      if (!summarised) {
        summarised = true;
        await (await finops.fetch(bedrockUrl(NOVA, 'converse'), post(converseRequest('summarise this'), { authorization: 'Bearer key' }))).text();
      }
      return net.fetch(input, init);
    };
    globalThis.fetch = finops.wrapFetch(summarising);
    await fetchClient(finops).send(new ConverseCommand({ modelId: NOVA, messages: [{ role: 'user', content: [{ text: 'hello' }] }] }));
    expect(net.calls).toHaveLength(2);
    // Before: the summary was taken for the SDK call's own request (same operation and model) and passed on: recorded
    // Nova 700 only, charged 750. Now recorded: the summary (30 + 50) and the SDK's call (700 + 50). Charged: 830.
    expect(records.map((r) => [r.requestedModelId, r.inputTokens])).toEqual([
      [NOVA, 30],
      [NOVA, 700],
    ]);
    expect(await usedTokens(finops)).toBe(830);
    await expectNothingReserved(finops);
  });

  it('meters a call to the same model that a custom SDK middleware makes through the metered global fetch before the SDK’s request goes out', async () => {
    const { finops, records } = setup();
    const net = network('summarise');
    globalThis.fetch = finops.wrapFetch(net.fetch);
    const client = fetchClient(finops);
    client.middlewareStack.add(
      (next) => async (args) => {
        await (await globalThis.fetch(bedrockUrl(NOVA, 'converse'), post(converseRequest('summarise the history'), { authorization: 'Bearer key' }))).text();
        return next(args);
      },
      { step: 'build', name: 'summary' },
    );
    await client.send(new ConverseCommand({ modelId: NOVA, messages: [{ role: 'user', content: [{ text: 'hello' }] }] }));
    expect(net.calls).toHaveLength(2);
    // Before: recorded Nova 700 only (the summary passed on as the SDK call's request). Now both, charged 830.
    expect(records.map((r) => [r.requestedModelId, r.inputTokens])).toEqual([
      [NOVA, 30],
      [NOVA, 700],
    ]);
    expect(await usedTokens(finops)).toBe(830);
    await expectNothingReserved(finops);
  });

  // Guards the fix: the SDK's own attempts (a 503, then the retry) under the metered global fetch are one call.
  it('still meters an SDK call retried through the metered global fetch once', async () => {
    const { finops, records } = setup();
    let attempts = 0;
    const net = fakeFetch(() => (++attempts === 1 ? new Response('{}', { status: 503, headers: { 'x-amzn-errortype': 'ServiceUnavailableException' } }) : converseReply()));
    globalThis.fetch = finops.wrapFetch(net.fetch);
    await fetchClient(finops, 2).send(new ConverseCommand({ modelId: NOVA, messages: [{ role: 'user', content: [{ text: 'hello' }] }] }));
    expect(net.calls).toHaveLength(2);
    // Recorded: one call. Charged: 750 once.
    expect(records.map((r) => [r.requestedModelId, r.inputTokens])).toEqual([[NOVA, 700]]);
    expect(await usedTokens(finops)).toBe(750);
    await expectNothingReserved(finops);
  });
});

describe('fetch adversarial (4): a base fetch that queues requests', () => {
  /** One request at a time through `send`: the next starts when the one before has settled, from that one's async context. */
  function queueing(send: () => typeof fetch) {
    const waiting: (() => void)[] = [];
    let busy = false;
    return (input: string | URL | Request, init?: RequestInit): Promise<Response> =>
      new Promise<Response>((resolve, reject) => {
        const job = (): void => {
          busy = true;
          send()(input, init)
            .then(resolve, reject)
            .finally(() => {
              busy = false;
              waiting.shift()?.();
            });
        };
        if (busy) waiting.push(job);
        else job();
      });
  }

  it('meters a queued call once when the queue sends it from the previous call’s async context (it was metered twice)', async () => {
    const { finops, records } = setup();
    const net = network('second');
    globalThis.fetch = net.fetch;
    const metered = finops.wrapFetch(queueing(() => finops.fetch));
    const answers = await Promise.all([
      metered(bedrockUrl(NOVA, 'converse'), post(converseRequest('first'), { authorization: 'Bearer key' })),
      metered(bedrockUrl(NOVA, 'converse'), post(converseRequest('second'), { authorization: 'Bearer key' })),
    ]);
    for (const answer of answers) await answer.text();
    expect(net.calls).toHaveLength(2);
    // Before: the second call was metered by its own metered fetch and again as "another call" inside the first's
    // sending (three records, 30 + 50 charged twice: 910). Now recorded: two calls. Charged: 750 + 80 = 830.
    expect(records.map((r) => r.inputTokens).sort()).toEqual([30, 700]);
    expect(await usedTokens(finops)).toBe(830);
    await expectNothingReserved(finops);
  });

  it('admits both queued calls under a budget with room for exactly two (the second was refused by its own double reservation)', async () => {
    // Each call reserves 10 estimated input + 50 max output = 60 tokens; room for two, not three.
    const { finops, records } = setup({}, 120);
    const net = fakeFetch(() => json({ output: { message: { role: 'assistant', content: [] } }, stopReason: 'end_turn', usage: { inputTokens: 10, outputTokens: 0, totalTokens: 10 } }));
    globalThis.fetch = net.fetch;
    const metered = finops.wrapFetch(queueing(() => finops.fetch));
    const answers = await Promise.all([
      metered(bedrockUrl(NOVA, 'converse'), post(converseRequest('first'), { authorization: 'Bearer key' })),
      metered(bedrockUrl(NOVA, 'converse'), post(converseRequest('second'), { authorization: 'Bearer key' })),
    ]);
    for (const answer of answers) await answer.text();
    // Sent: both. Recorded: two calls of 10 tokens. Charged: 20. Released: both reservations.
    expect(net.calls).toHaveLength(2);
    expect(records.map((r) => [r.outcome, r.inputTokens])).toEqual([
      ['success', 10],
      ['success', 10],
    ]);
    expect(await usedTokens(finops)).toBe(20);
    await expectNothingReserved(finops);
  });
});

describe('fetch adversarial (4): a Converse answer whose body cannot be read as it came', () => {
  const noCap = { messages: [{ role: 'user', content: [{ text: 'hi' }] }] };

  it('reads the usage of a Converse body still gzip-compressed by a base fetch that does not decode (it was charged 10 + 0 output)', async () => {
    const bytes = gzipSync(JSON.stringify({ output: { message: { role: 'assistant', content: [{ text: 'x'.repeat(700) }] } }, stopReason: 'end_turn', usage: { inputTokens: 30, outputTokens: 200, totalTokens: 230 } }));
    const { finops, records } = setup();
    const base = fakeFetch(() => new Response(bytes, { headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } }));
    const response = await finops.wrapFetch(base.fetch)(bedrockUrl(NOVA, 'converse'), post(noCap, { authorization: 'Bearer key' }));
    // The caller gets the compressed bytes as they came.
    expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).toBe(true);
    // Before: no usage read, usageSource 'estimate', 10 input + 0 output charged. Now: Bedrock's 30 + 200.
    expect(records.map((r) => [r.usageSource, r.inputTokens, r.outputTokens])).toEqual([['usage', 30, 200]]);
    expect(await usedTokens(finops)).toBe(230);
    await expectNothingReserved(finops);
  });

  it('charges the output a Converse 200 body that is not JSON returned, not 0 (700 characters → 200 tokens)', async () => {
    const text = 'y'.repeat(700);
    const { finops, records } = setup();
    const base = fakeFetch(() => new Response(text, { headers: { 'content-type': 'text/plain' } }));
    const response = await finops.wrapFetch(base.fetch)(bedrockUrl(NOVA, 'converse'), post(noCap, { authorization: 'Bearer key' }));
    expect(await response.text()).toBe(text);
    // Before: the admission's 10 input and 0 output (the settlement was handed no output). Now 10 + 200, an estimate.
    expect(records.map((r) => [r.usageSource, r.inputTokens, r.outputTokens])).toEqual([['estimate', 10, 200]]);
    expect(await usedTokens(finops)).toBe(210);
    await expectNothingReserved(finops);
  });

  // Guards the fix: a body that only looks like gzip, or a gzip bomb, is charged an estimate and handed back whole.
  it('hands back a broken gzip body and a gzip bomb byte for byte, each charged an estimate', async () => {
    const broken = new Uint8Array([0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad]);
    const bomb = gzipSync(new Uint8Array(64 * 1024 * 1024));
    const { finops, records } = setup();
    for (const bytes of [broken, bomb]) {
      const base = fakeFetch(() => new Response(bytes, { headers: { 'content-type': 'application/json' } }));
      const response = await finops.wrapFetch(base.fetch)(bedrockUrl(NOVA, 'converse'), post(noCap, { authorization: 'Bearer key' }));
      expect(Buffer.from(await response.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true);
    }
    expect(records.map((r) => [r.outcome, r.usageSource])).toEqual([
      ['success', 'estimate'],
      ['success', 'estimate'],
    ]);
    await expectNothingReserved(finops);
  });
});
