import { createServer, type Server } from 'node:http';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { FetchHttpHandler } from '@smithy/fetch-http-handler';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { BudgetExceededError } from '../../src/index.js';
import { expectNothingReserved } from '../helpers/adversary.js';
import { ENDPOINT, json } from '../helpers/bedrock.js';
import { bedrockUrl, converseRequest, fakeFetch, post, restoreGlobalFetch, totalBudget, usedTokens } from '../helpers/fetch.js';

// A third adversarial pass on the fetch path: each test fails on the code before its fix, except those that say
// they guard one.

const HAIKU = 'anthropic.claude-3-haiku-20240307-v1:0';
const NOVA = 'us.amazon.nova-lite-v1:0';
const ARN = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123def456';
const FALLBACK = 'us.anthropic.claude-3-haiku-20240307-v1:0';
const converseReply = () => json({ output: { message: { role: 'assistant', content: [{ text: 'ok' }] } }, stopReason: 'end_turn', usage: { inputTokens: 700, outputTokens: 50, totalTokens: 750 } });

const setup = totalBudget;
const savedFetch = globalThis.fetch;
restoreGlobalFetch();

describe('fetch adversarial (3): token counts are decimal integers', () => {
  it('does not read InvokeModel token headers written as 1e3 and 0x10 (charged 1,016 tokens); the body’s counts are used', async () => {
    const body = { type: 'message', content: [{ type: 'text', text: 'ok' }], usage: { input_tokens: 12, output_tokens: 5 } };
    const base = fakeFetch(() => json(body, { 'x-amzn-bedrock-input-token-count': '1e3', 'x-amzn-bedrock-output-token-count': '0x10' }));
    const { finops, records } = setup();
    const response = await finops.wrapFetch(base.fetch)(bedrockUrl(HAIKU, 'invoke'), post({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }));
    expect(await response.json()).toEqual(body);
    // Recorded: the body's 12 + 5 tokens (usage from the body). Charged: 17. Released: the reservation.
    expect(records.map((r) => [r.usageSource, r.inputTokens, r.outputTokens])).toEqual([['body', 12, 5]]);
    expect(await usedTokens(finops)).toBe(17);
    await expectNothingReserved(finops);
  });
});

describe('fetch adversarial (3): every path form that reaches a Bedrock operation is metered', () => {
  const id = encodeURIComponent(NOVA);
  // Sent as written: WHATWG URL (so fetch, undici) keeps empty segments, a trailing slash, percent-encoding, case and
  // `;` parameters; it resolves dot segments (`.`, `..`, `%2e`) and backslashes before anything sees the request.
  // Bedrock's routing of these is not documented: Smithy leaves empty segments open (smithy-lang/smithy#1024) and
  // servers differ (Smithy's TypeScript server drops them; a Java front door drops `;` parameters and may compare
  // case-insensitively), RFC 3986 makes `%65` and `e` the same, and a router that decoded `%2F` before splitting
  // would read `x%2Fconverse` as `x/converse`. Each such form is metered as the operation it most likely is:
  // charging a call that Bedrock then refuses costs an error record and nothing else; missing one lets it past
  // every budget.
  const forms: [string, string, string][] = [
    ['a double slash before /model', `//model/${id}/converse`, 'Converse'],
    ['a trailing slash', `/model/${id}/converse/`, 'Converse'],
    ['empty segments around the model id', `/model//${id}//converse`, 'Converse'],
    ['a dot segment (resolved by URL: guards the fix)', `/./model/${id}/converse`, 'Converse'],
    ['a parent segment (resolved by URL: guards the fix)', `/x/../model/${id}/converse`, 'Converse'],
    ['percent-encoded letters in the operation', `/model/${id}/conv%65rs%45`, 'Converse'],
    ['percent-encoded letters in /model', `/%6Dodel/${id}/converse`, 'Converse'],
    ['another letter case in the operation', `/model/${id}/Converse`, 'Converse'],
    ['upper case throughout', `/MODEL/${id}/INVOKE`, 'InvokeModel'],
    ['a Unicode letter that folds to k (the Kelvin sign)', `/model/${id}/invo%E2%84%AAe`, 'InvokeModel'],
    ['a ;parameter on the operation', `/model/${id}/converse;v=1`, 'Converse'],
    ['a percent-encoded slash before the operation', `/model/${id}%2Fconverse`, 'Converse'],
    ['a percent-encoded trailing slash', `/model/${id}/converse%2F`, 'Converse'],
    ['a path before /model on an AWS host', `/v1/model/${id}/converse`, 'Converse'],
  ];

  for (const [what, path, operation] of forms) {
    it(`meters and charges an API-key call with ${what}: ${path}`, async () => {
      const base = fakeFetch(() => converseReply());
      const { finops, records } = setup();
      const url = `${ENDPOINT}${path}`;
      await finops.wrapFetch(base.fetch)(url, post(converseRequest(), { authorization: 'Bearer key' }));
      // Sent as the caller wrote it (the same URL string).
      expect(base.calls.map((c) => c.input)).toEqual([url]);
      // Recorded: one call of the operation for the model. Charged: the reply's 700 + 50 tokens. Released: the reservation.
      expect(records.map((r) => [r.operation, r.requestedModelId, r.inputTokens, r.outputTokens])).toEqual([[operation, NOVA, 700, 50]]);
      expect(await usedTokens(finops)).toBe(750);
      await expectNothingReserved(finops);
    });
  }

  it('refuses every such form before sending when the budget has no room (each went out past the budget)', async () => {
    const base = fakeFetch(() => converseReply());
    // A 10-token estimate against a 5-token budget.
    const { finops, records } = setup({}, 5);
    const metered = finops.wrapFetch(base.fetch);
    for (const [, path] of forms) await expect(metered(`${ENDPOINT}${path}`, post(converseRequest()))).rejects.toBeInstanceOf(BudgetExceededError);
    // Sent: nothing. Recorded: nothing. Charged: nothing.
    expect(base.calls).toHaveLength(0);
    expect(records).toHaveLength(0);
    expect(await usedTokens(finops)).toBe(0);
    await expectNothingReserved(finops);
  });

  it('reads a provisioned ARN whose slash is percent-encoded as one model id, also when the operation’s slash is encoded too', async () => {
    const base = fakeFetch(() => converseReply());
    const { finops, records } = setup();
    const metered = finops.wrapFetch(base.fetch);
    await metered(bedrockUrl(ARN, 'converse'), post(converseRequest()));
    await metered(`${ENDPOINT}/model/${encodeURIComponent(ARN)}%2Fconverse`, post(converseRequest()));
    expect(records.map((r) => [r.operation, r.requestedModelId])).toEqual([
      ['Converse', ARN],
      ['Converse', ARN],
    ]);
  });

  it('meters those forms under a custom endpoint given to wrapFetch (its base path written with slashes or case of its own)', async () => {
    const base = fakeFetch(() => converseReply());
    const { finops, records } = setup();
    const metered = finops.wrapFetch(base.fetch, { endpoints: ['https://gateway.internal/bedrock/'] });
    await metered(`https://gateway.internal//bedrock//model/${id}/converse/`, post(converseRequest(), { authorization: 'Bearer key' }));
    await metered(`https://gateway.internal/Bedrock/model/${id}/Converse`, post(converseRequest(), { authorization: 'Bearer key' }));
    await metered(`https://gateway.internal./bedrock/model/${id}/converse`, post(converseRequest(), { authorization: 'Bearer key' }));
    expect(records.map((r) => r.operation)).toEqual(['Converse', 'Converse', 'Converse']);
  });

  it('records a form Bedrock then refuses (404 UnknownOperationException) as an error, charged nothing', async () => {
    const base = fakeFetch(() => new Response('{"message":"unknown operation"}', { status: 404, headers: { 'x-amzn-errortype': 'UnknownOperationException' } }));
    const { finops, records } = setup();
    const response = await finops.wrapFetch(base.fetch)(`${ENDPOINT}/model/${id}/converse/`, post(converseRequest()));
    expect(response.status).toBe(404);
    // Recorded: one failed Converse call. Charged: 0 (an error answer is not billed). Released: the 10-token reservation.
    expect(records.map((r) => [r.operation, r.outcome, r.error])).toEqual([['Converse', 'error', 'UnknownOperationException']]);
    expect(await usedTokens(finops)).toBe(0);
    await expectNothingReserved(finops);
  });

  it('spills a provisioned call written in such a form to its fallback at the path Bedrock spells (as before, for the plain form)', async () => {
    const base = fakeFetch((input) =>
      String(input instanceof Request ? input.url : input).includes(encodeURIComponent(ARN)) ? new Response('{}', { status: 429, headers: { 'x-amzn-errortype': 'ThrottlingException' } }) : converseReply(),
    );
    const { finops, records } = setup({ provisioned: { [ARN]: { model: HAIKU, fallback: FALLBACK } } });
    await finops.wrapFetch(base.fetch)(`${ENDPOINT}//model/${encodeURIComponent(ARN)}/Converse/`, post(converseRequest(), { authorization: 'Bearer key' }));
    expect((base.calls[1]?.input as Request).url).toBe(bedrockUrl(FALLBACK, 'converse'));
    // Recorded: one call served by the fallback. Charged: its 750 tokens.
    expect(records.map((r) => [r.requestedModelId, r.modelId, r.fallback?.reason])).toEqual([[ARN, FALLBACK, 'ThrottlingException']]);
    expect(await usedTokens(finops)).toBe(750);
  });

  it('sends each form on the wire as written (undici keeps what WHATWG URL keeps), metered, to a server given as an endpoint', async () => {
    const targets: string[] = [];
    const server: Server = createServer((req, res) => {
      targets.push(req.url ?? '');
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ output: { message: { role: 'assistant', content: [] } }, stopReason: 'end_turn', usage: { inputTokens: 7, outputTokens: 3, totalTokens: 10 } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const { finops, records } = setup();
      const metered = finops.wrapFetch(fetch, { endpoints: [origin] });
      const paths = [`//model/${id}/converse`, `/model/${id}/converse/`, `/x/../model/${id}/Converse`, `/model/${id}/conv%65rse;v=1`, `/model/${id}%2Fconverse`];
      for (const path of paths) await (await metered(`${origin}${path}`, post(converseRequest()))).text();
      // On the wire: empty segments, the trailing slash, case, percent-encoding and `;v=1` as written; `..` resolved.
      expect(targets).toEqual([`//model/${id}/converse`, `/model/${id}/converse/`, `/model/${id}/Converse`, `/model/${id}/conv%65rse;v=1`, `/model/${id}%2Fconverse`]);
      // Recorded: five Converse calls on Nova. Charged: 10 tokens each.
      expect(records.map((r) => [r.operation, r.requestedModelId])).toEqual(paths.map(() => ['Converse', NOVA]));
      expect(await usedTokens(finops)).toBe(50);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  // Guards the fix: the forms widen what is Bedrock only where a request could reach a billed operation.
  it('still passes on what is no Bedrock operation that bills tokens, untouched and unrecorded', async () => {
    const base = fakeFetch(() => new Response('ok'));
    const { finops, records } = setup();
    const metered = finops.wrapFetch(base.fetch);
    const cases = [
      `${ENDPOINT}/model/${id}/count-tokens`,
      `${ENDPOINT}/model/${id}/converse/extra`,
      `${ENDPOINT}/model/${id}/converse%2Fextra`,
      `${ENDPOINT}/model/${id}/conversex`,
      `${ENDPOINT}/model/converse`,
      `${ENDPOINT}/models/${id}/converse`,
      `${ENDPOINT}/model/${id}/conv%2565rse`,
      `${ENDPOINT}/model/${id}/constructor`,
      `${ENDPOINT}/model/${id}/__proto__`,
      `${ENDPOINT}/model/${id}/toString`,
      `https://api.example.com//model/${id}/Converse/`,
      `https://gateway.internal/other/model/${id}/converse`,
    ];
    for (const url of cases) {
      const init = post({});
      await metered(url, init);
      expect(base.calls.at(-1)!.input).toBe(url);
      expect(base.calls.at(-1)!.init).toBe(init);
    }
    await metered(`${ENDPOINT}//model/${id}/converse/`, { method: 'GET' });
    expect(records).toEqual([]);
  });
});

describe('fetch adversarial (3): a Bedrock call made by the base fetch while it sends another', () => {
  const haikuReply = () => json({ output: { message: { role: 'assistant', content: [{ text: 'safe' }] } }, stopReason: 'end_turn', usage: { inputTokens: 30, outputTokens: 2, totalTokens: 32 } });

  /**
   * A base fetch that, before sending a Converse call, asks `check` (a metered fetch of the same instance) for
   * another Bedrock call, as a moderation or routing step inside a custom fetch would. It keeps every request sent.
   */
  function checkingBase(check: () => typeof fetch, other: (sent: { url: string; body: string }) => [string, RequestInit] | undefined) {
    const sent: { url: string; body: string }[] = [];
    const network = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const request = new Request(input, init);
      const entry = { url: request.url, body: await request.text() };
      sent.push(entry);
      return entry.url.includes(encodeURIComponent(HAIKU)) ? haikuReply() : converseReply();
    };
    const base = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const request = new Request(input, init);
      const inner = other({ url: request.url, body: await request.clone().text() });
      if (inner !== undefined) await (await check()(...inner)).text();
      return network(request);
    };
    return { base, network, sent };
  }

  it('meters a call to another model made inside the base fetch (it went out unmetered and unchecked)', async () => {
    const { finops, records } = setup();
    const { base, sent } = checkingBase(
      () => finops.fetch,
      (request) => (request.url.includes(encodeURIComponent(NOVA)) ? [bedrockUrl(HAIKU, 'converse'), post(converseRequest('is this safe?'))] : undefined),
    );
    globalThis.fetch = base;
    try {
      await finops.wrapFetch(base)(bedrockUrl(NOVA, 'converse'), post(converseRequest()));
    } finally {
      globalThis.fetch = savedFetch;
    }
    expect(sent.map((s) => s.url)).toEqual([bedrockUrl(HAIKU, 'converse'), bedrockUrl(NOVA, 'converse')]);
    // Recorded: the inner Haiku call (30 + 2) and the outer Nova call (700 + 50). Charged: 782. Released: both reservations.
    expect(records.map((r) => [r.requestedModelId, r.inputTokens, r.outputTokens])).toEqual([
      [HAIKU, 30, 2],
      [NOVA, 700, 50],
    ]);
    expect(await usedTokens(finops)).toBe(782);
    await expectNothingReserved(finops);
  });

  it('meters a call with the same operation and model but another body made inside the base fetch', async () => {
    const { finops, records } = setup();
    const { base } = checkingBase(
      () => inner,
      (request) => (request.body === JSON.stringify(converseRequest()) ? [bedrockUrl(NOVA, 'converse'), post(converseRequest('summarise the conversation so far'))] : undefined),
    );
    const inner = finops.wrapFetch(base);
    await finops.wrapFetch(base)(bedrockUrl(NOVA, 'converse'), post(converseRequest()));
    // Recorded: two Nova calls (the inner one first, as it finished first). Charged: 750 each.
    expect(records.map((r) => [r.requestedModelId, r.inputTokens])).toEqual([
      [NOVA, 700],
      [NOVA, 700],
    ]);
    expect(await usedTokens(finops)).toBe(1500);
    await expectNothingReserved(finops);
  });

  it('refuses the inner call before it is sent when the budget has no room for it (it went out past the budget)', async () => {
    // Room for the outer call (10 input tokens estimated and 1 output token), not for the inner call's 10 + 50 too.
    const { finops, records } = setup({}, 30);
    const { base, sent } = checkingBase(
      () => finops.fetch,
      (request) => (request.url.includes(encodeURIComponent(NOVA)) ? [bedrockUrl(HAIKU, 'converse'), post(converseRequest('is this safe?'))] : undefined),
    );
    globalThis.fetch = base;
    try {
      await expect(finops.wrapFetch(base)(bedrockUrl(NOVA, 'converse'), post(converseRequest('hello', 1)))).rejects.toBeInstanceOf(BudgetExceededError);
    } finally {
      globalThis.fetch = savedFetch;
    }
    // Sent: nothing (the inner call was refused, and its refusal ended the outer call in the base fetch).
    expect(sent).toEqual([]);
    // Recorded: the outer call, failed with the refusal, charged nothing. Released: its reservation.
    expect(records.map((r) => [r.requestedModelId, r.outcome, r.error])).toEqual([[NOVA, 'error', 'BudgetExceededError']]);
    expect(await usedTokens(finops)).toBe(0);
    await expectNothingReserved(finops);
  });

  it('meters a call to another model made by the base fetch under an SDK client on a fetch handler, with the global fetch metered', async () => {
    const { finops, records } = setup();
    const network = fakeFetch((input) => (String(input instanceof Request ? input.url : input).includes(encodeURIComponent(HAIKU)) ? haikuReply() : converseReply()));
    const checking = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const url = input instanceof Request ? input.url : String(input);
      if (url.includes(encodeURIComponent(NOVA))) await (await finops.fetch(bedrockUrl(HAIKU, 'converse'), post(converseRequest('is this safe?')))).text();
      return network.fetch(input, init);
    };
    globalThis.fetch = finops.wrapFetch(checking);
    const client = new BedrockRuntimeClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, requestHandler: new FetchHttpHandler(), maxAttempts: 1 });
    client.middlewareStack.use(finops);
    const output = await client.send(new ConverseCommand({ modelId: NOVA, messages: [{ role: 'user', content: [{ text: 'hello' }] }] }));
    expect(output.usage?.inputTokens).toBe(700);
    expect(network.calls).toHaveLength(2);
    // Recorded: the inner Haiku call (30 + 2) and the SDK's Nova call (700 + 50), each once. Charged: 782.
    expect(records.map((r) => [r.requestedModelId, r.inputTokens, r.outputTokens])).toEqual([
      [HAIKU, 30, 2],
      [NOVA, 700, 50],
    ]);
    expect(await usedTokens(finops)).toBe(782);
    await expectNothingReserved(finops);
  });

  it('meters a Bedrock call a custom SDK middleware makes through the metered global fetch before the SDK’s own request goes out (the SDK call now says what it sends)', async () => {
    const { finops, records } = setup();
    const network = fakeFetch((input) => (String(input instanceof Request ? input.url : input).includes(encodeURIComponent(HAIKU)) ? haikuReply() : converseReply()));
    globalThis.fetch = finops.wrapFetch(network.fetch);
    const client = new BedrockRuntimeClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, requestHandler: new FetchHttpHandler(), maxAttempts: 1 });
    client.middlewareStack.use(finops);
    // A moderation step of the app's own, at the build step (below the plugin), calling another model through fetch.
    client.middlewareStack.add(
      (next) => async (args) => {
        await (await globalThis.fetch(bedrockUrl(HAIKU, 'converse'), post(converseRequest('is this safe?'), { authorization: 'Bearer key' }))).text();
        return next(args);
      },
      { step: 'build', name: 'moderation' },
    );
    await client.send(new ConverseCommand({ modelId: NOVA, messages: [{ role: 'user', content: [{ text: 'hello' }] }] }));
    expect(network.calls).toHaveLength(2);
    // Before: the Haiku call was taken for the SDK call's own request and passed on unmetered (recorded: Nova only, 750).
    // Recorded: the moderation call (30 + 2) and the SDK's Nova call (700 + 50), each once. Charged: 782.
    expect(records.map((r) => [r.requestedModelId, r.inputTokens, r.outputTokens])).toEqual([
      [HAIKU, 30, 2],
      [NOVA, 700, 50],
    ]);
    expect(await usedTokens(finops)).toBe(782);
    await expectNothingReserved(finops);
  });

  // Guards the fix: the call being sent is still metered once when something between two metered fetches of the
  // instance rebuilds its request (a tracing wrapper adding a header): same operation, model and body.
  it('meters the call being sent once when a wrapper between two metered fetches rebuilds its request', async () => {
    const { finops, records } = setup();
    const network = fakeFetch(() => converseReply());
    const tracing = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const request = new Request(input, init);
      request.headers.set('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
      return finops.wrapFetch(network.fetch)(request);
    };
    await finops.wrapFetch(tracing)(bedrockUrl(NOVA, 'converse'), post(converseRequest()));
    expect(network.calls).toHaveLength(1);
    // Recorded: one call. Charged: 750 once.
    expect(records).toHaveLength(1);
    expect(await usedTokens(finops)).toBe(750);
    await expectNothingReserved(finops);
  });

  // Guards the fix: a spilled call re-addressed to its fallback through a stacked metered fetch is still one call.
  it('meters a provisioned call spilled through a stacked metered fetch once', async () => {
    const network = fakeFetch((input) =>
      String(input instanceof Request ? input.url : input).includes(encodeURIComponent(ARN)) ? new Response('{}', { status: 429, headers: { 'x-amzn-errortype': 'ThrottlingException' } }) : converseReply(),
    );
    const { finops, records } = setup({ provisioned: { [ARN]: { model: HAIKU, fallback: FALLBACK } } });
    await finops.wrapFetch(finops.wrapFetch(network.fetch))(bedrockUrl(ARN, 'converse'), post(converseRequest(), { authorization: 'Bearer key' }));
    expect(network.calls).toHaveLength(2);
    // Recorded: one call, served by the fallback. Charged: 750 once.
    expect(records.map((r) => [r.requestedModelId, r.modelId])).toEqual([[ARN, FALLBACK]]);
    expect(await usedTokens(finops)).toBe(750);
    await expectNothingReserved(finops);
  });
});
