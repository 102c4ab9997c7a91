import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps, BudgetExceededError, isConfigurationError, withAttribution, type BedrockFinOpsOptions } from '../../src/index.js';
import { converseStreamEvent, encodeEventStream, invokeStreamChunk } from '../../src/testing/index.js';
import { ENDPOINT, awsError, eventStream, json, on, recorder, useMockBedrock } from '../helpers/bedrock.js';
import { bedrockUrl, converseRequest, fakeFetch, hex, post, readBody, sigV4 } from '../helpers/fetch.js';

const server = useMockBedrock();

const NOVA = 'us.amazon.nova-lite-v1:0';
const HAIKU = 'anthropic.claude-3-haiku-20240307-v1:0';
const converseReply = (usage: Record<string, number>) => ({
  output: { message: { role: 'assistant', content: [{ text: 'hi there' }] } },
  stopReason: 'end_turn',
  usage,
  metrics: { latencyMs: 12 },
});

function setup(options: BedrockFinOpsOptions = {}) {
  const { records, onUsage } = recorder();
  const finops = bedrockFinOps({ attribution: { team: 'search' }, ...options, onUsage });
  return { finops, records };
}

describe('finops.fetch: Converse', () => {
  it('records one priced, attributed Converse call with the exact tokens of the JSON body, and hands the body back unchanged', async () => {
    const reply = JSON.stringify(converseReply({ inputTokens: 11, outputTokens: 7, totalTokens: 48, cacheReadInputTokens: 20, cacheWriteInputTokens: 10 }));
    server.use(on('converse', () => new HttpResponse(reply, { headers: { 'content-type': 'application/json', 'x-amzn-requestid': 'req-1' } })));
    const { finops, records } = setup();
    const response = await withAttribution({ feature: 'chat' }, () => finops.fetch(bedrockUrl(NOVA, 'converse'), post(converseRequest())));
    expect(await response.text()).toBe(reply);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      operation: 'Converse',
      requestedModelId: NOVA,
      modelId: NOVA,
      attribution: { team: 'search', feature: 'chat' },
      inputTokens: 11,
      outputTokens: 7,
      cacheReadInputTokens: 20,
      cacheWriteInputTokens: 10,
      usageSource: 'usage',
      outcome: 'success',
      requestId: 'req-1',
    });
    expect(records[0]!.costUsd).toBeGreaterThan(0);
  });

  it('decodes a percent-encoded ARN in the path into the model id the caller meant', async () => {
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0';
    server.use(on('converse', () => json(converseReply({ inputTokens: 3, outputTokens: 4, totalTokens: 7 }))));
    const { finops, records } = setup();
    await finops.fetch(bedrockUrl(arn, 'converse'), post(converseRequest()));
    expect(records[0]).toMatchObject({ requestedModelId: arn, modelKind: 'inference-profile', baseModelId: 'amazon.nova-lite-v1:0', inputTokens: 3 });
  });

  it('meters a Request object and still sends that same Request, body unread', async () => {
    const base = fakeFetch(() => json(converseReply({ inputTokens: 5, outputTokens: 6, totalTokens: 11 })));
    const { finops, records } = setup();
    const request = new Request(bedrockUrl(NOVA, 'converse'), post(converseRequest()));
    await finops.wrapFetch(base.fetch)(request);
    expect(base.calls[0]!.input).toBe(request);
    expect(request.bodyUsed).toBe(false);
    expect(records[0]).toMatchObject({ operation: 'Converse', inputTokens: 5, outputTokens: 6 });
  });
});

describe('finops.fetch: admission input', () => {
  it('gives estimators the SDK command input the request stands for: Converse fields with modelId, InvokeModel body as sent', async () => {
    const base = fakeFetch((input) => ((input as string).endsWith('/invoke') ? json({}, { 'x-amzn-bedrock-input-token-count': '1', 'x-amzn-bedrock-output-token-count': '1' }) : json(converseReply({ inputTokens: 1, outputTokens: 1, totalTokens: 2 }))));
    const seen: unknown[] = [];
    const { finops } = setup({ estimator: (r) => (seen.push(JSON.parse(JSON.stringify({ operation: r.operation, input: r.input }))), 1), budgets: [{ name: 'd', limit: { tokens: 1000 }, window: 'day' }] });
    const metered = finops.wrapFetch(base.fetch);
    await metered(bedrockUrl(NOVA, 'converse'), post(converseRequest('hi', 7)));
    const invokeBody = JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 9, messages: [] });
    await metered(bedrockUrl(HAIKU, 'invoke'), { method: 'POST', body: invokeBody });
    expect(seen).toEqual([
      { operation: 'Converse', input: { messages: [{ role: 'user', content: [{ text: 'hi' }] }], inferenceConfig: { maxTokens: 7 }, modelId: NOVA } },
      { operation: 'InvokeModel', input: { modelId: HAIKU, body: invokeBody } },
    ]);
  });
});

describe('finops.fetch: InvokeModel', () => {
  it("takes the billed-token headers when present, without reading the body", async () => {
    const body = JSON.stringify({ embedding: [0.5, 0.25], inputTextTokenCount: 999 });
    server.use(on('invoke', () => new HttpResponse(body, { headers: { 'content-type': 'application/json', 'x-amzn-bedrock-input-token-count': '8', 'x-amzn-bedrock-output-token-count': '0' } })));
    const { finops, records } = setup();
    const response = await finops.fetch(bedrockUrl('amazon.titan-embed-text-v2:0', 'invoke'), post({ inputText: 'hello' }));
    expect(await response.text()).toBe(body);
    expect(records[0]).toMatchObject({ operation: 'InvokeModel', inputTokens: 8, outputTokens: 0, usageSource: 'headers' });
  });

  it("falls back to the model family's own body fields when the headers are missing", async () => {
    server.use(on('invoke', () => json({ type: 'message', content: [], usage: { input_tokens: 12, output_tokens: 34 } })));
    const { finops, records } = setup();
    await finops.fetch(bedrockUrl(HAIKU, 'invoke'), post({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 50, messages: [] }));
    expect(records[0]).toMatchObject({ inputTokens: 12, outputTokens: 34, usageSource: 'body' });
  });
});

describe('finops.fetch: response streams', () => {
  const converseStream = [
    converseStreamEvent('messageStart', { role: 'assistant' }),
    converseStreamEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hello' } }),
    converseStreamEvent('contentBlockStop', { contentBlockIndex: 0 }),
    converseStreamEvent('messageStop', { stopReason: 'end_turn' }),
    converseStreamEvent('metadata', { usage: { inputTokens: 25, outputTokens: 9, totalTokens: 34 }, metrics: { latencyMs: 40 } }),
  ];

  it('passes a ConverseStream body through byte for byte and reads usage from its metadata frame', async () => {
    server.use(on('converse-stream', () => eventStream(converseStream)));
    const { finops, records } = setup();
    const response = await finops.fetch(bedrockUrl(NOVA, 'converse-stream'), post(converseRequest()));
    expect(response.headers.get('content-type')).toBe('application/vnd.amazon.eventstream');
    expect(hex(await readBody(response))).toBe(hex(encodeEventStream(converseStream)));
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ operation: 'ConverseStream', inputTokens: 25, outputTokens: 9, usageSource: 'usage', outcome: 'success', requestId: 'req-stream' });
    expect(records[0]!.timeToFirstChunkMs).toBeGreaterThanOrEqual(0);
  });

  it("reads InvokeModelWithResponseStream usage from the final chunk's invocation metrics", async () => {
    const chunks = [
      invokeStreamChunk({ type: 'message_start', message: { usage: { input_tokens: 30, output_tokens: 1 } } }),
      invokeStreamChunk({ type: 'content_block_delta', delta: { type: 'text_delta', text: 'Hi' } }),
      invokeStreamChunk({ type: 'message_delta', usage: { output_tokens: 5 } }),
      invokeStreamChunk({ type: 'message_stop', 'amazon-bedrock-invocationMetrics': { inputTokenCount: 31, outputTokenCount: 6 } }),
    ];
    server.use(on('invoke-with-response-stream', () => eventStream(chunks)));
    const { finops, records } = setup();
    const response = await finops.fetch(bedrockUrl(HAIKU, 'invoke-with-response-stream'), post({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 50, messages: [] }));
    expect(hex(await readBody(response))).toBe(hex(encodeEventStream(chunks)));
    expect(records[0]).toMatchObject({ operation: 'InvokeModelWithResponseStream', inputTokens: 31, outputTokens: 6, usageSource: 'invocation-metrics' });
  });
});

describe('finops.fetch: budgets and errors', () => {
  it('refuses a call over budget from fetch itself, before any request reaches the network (nothing reserved, nothing recorded)', async () => {
    let requests = 0;
    server.use(
      on('converse', () => {
        requests++;
        return json(converseReply({ inputTokens: 10, outputTokens: 50, totalTokens: 60 }));
      }),
    );
    const { finops, records } = setup({ estimator: () => 10, budgets: [{ name: 'daily', limit: { tokens: 100 }, window: 'day' }] });
    await finops.fetch(bedrockUrl(NOVA, 'converse'), post(converseRequest()));
    const refused = await finops.fetch(bedrockUrl(NOVA, 'converse'), post(converseRequest())).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BudgetExceededError);
    expect(refused).toMatchObject({ budget: 'daily', used: 60, requested: 60 });
    expect(requests).toBe(1);
    expect(records).toHaveLength(1);
    const [status] = await finops.budgets.status();
    expect(status).toMatchObject({ used: { tokens: 60 }, reserved: { tokens: 0 } });
  });

  it('records an error answer under its exception name, releases its reservation and returns the answer untouched', async () => {
    server.use(on('converse', () => awsError(429, 'ThrottlingException', 'Too many tokens')));
    const { finops, records } = setup({ estimator: () => 10, budgets: [{ name: 'daily', limit: { tokens: 1000 }, window: 'day' }] });
    const response = await finops.fetch(bedrockUrl(NOVA, 'converse'), post(converseRequest()));
    expect(response.status).toBe(429);
    expect(await response.json()).toEqual({ message: 'Too many tokens' });
    expect(records[0]).toMatchObject({ outcome: 'error', error: 'ThrottlingException', inputTokens: 0, outputTokens: 0, requestId: 'req-err' });
    const [status] = await finops.budgets.status();
    expect(status).toMatchObject({ used: { tokens: 0 }, reserved: { tokens: 0 } });
  });

  it('rejects as the base fetch does when the network fails, and records the failure', async () => {
    server.use(http.post(`${ENDPOINT}/model/:modelId/converse`, () => HttpResponse.error()));
    const { finops, records } = setup();
    await expect(finops.fetch(bedrockUrl(NOVA, 'converse'), post(converseRequest()))).rejects.toThrow(TypeError);
    expect(records[0]).toMatchObject({ outcome: 'error', error: 'TypeError' });
  });
  it('fails fetch with the same error when a JSON body breaks off, as send() fails in the SDK path, and records the failure', async () => {
    const broken = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"usage":'));
        controller.error(new TypeError('terminated'));
      },
    });
    const base = fakeFetch(() => new Response(broken, { headers: { 'content-type': 'application/json' } }));
    const { finops, records } = setup();
    const error = await finops.wrapFetch(base.fetch)(bedrockUrl(NOVA, 'converse'), post(converseRequest())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(records[0]).toMatchObject({ outcome: 'error', error: 'TypeError', inputTokens: 0 });
  });
});

describe('finops.fetch: what is Bedrock and what is not', () => {
  const answer = () => json(converseReply({ inputTokens: 1, outputTokens: 1, totalTokens: 2 }));

  it('hands every other request to the base fetch as it came (same objects), and records nothing', async () => {
    const base = fakeFetch(() => new Response('ok'));
    const { finops, records } = setup();
    const wrapped = finops.wrapFetch(base.fetch);
    const cases: [string, RequestInit][] = [
      ['https://api.example.com/model/x/converse', post({})],
      [`${ENDPOINT}/model/${NOVA}/converse`, { method: 'GET' }],
      [`${ENDPOINT}/model/${NOVA}/count-tokens`, post({})],
      [`${ENDPOINT}/foundation-models`, post({})],
      ['https://example.com/model/x/converse', post({}, { authorization: sigV4('s3') })],
      [`${ENDPOINT}/model/%E0%A4%A/converse`, post({})],
      // Not a path Bedrock routes to an operation (a path before /model/ on an AWS host is metered: fetch-adversarial-3).
      [`${ENDPOINT}/model/${NOVA}/converse/extra`, post({})],
    ];
    for (const [url, init] of cases) {
      await wrapped(url, init);
      expect(base.calls.at(-1)!.input).toBe(url);
      expect(base.calls.at(-1)!.init).toBe(init);
    }
    expect(records).toEqual([]);
  });

  it('meters every AWS Bedrock Runtime host: regions, partitions, FIPS and VPC endpoints', async () => {
    const base = fakeFetch(answer);
    const { finops, records } = setup();
    const wrapped = finops.wrapFetch(base.fetch);
    const hosts = [
      'https://bedrock-runtime.eu-west-1.amazonaws.com',
      'https://bedrock-runtime-fips.us-gov-west-1.amazonaws.com',
      'https://bedrock-runtime.cn-north-1.amazonaws.com.cn',
      'https://vpce-0abc123-def.bedrock-runtime.us-east-1.vpce.amazonaws.com',
      // A fully qualified name (trailing dot) is the same host: unsigned, it went out unmetered and past every budget.
      'https://bedrock-runtime.us-east-1.amazonaws.com.',
    ];
    for (const host of hosts) await wrapped(bedrockUrl(NOVA, 'converse', host), post(converseRequest()));
    expect(records.map((r) => r.operation)).toEqual(['Converse', 'Converse', 'Converse', 'Converse', 'Converse']);
  });

  it('meters a custom host when the request is SigV4-signed for bedrock, or the host is one of the endpoints', async () => {
    const base = fakeFetch(answer);
    const { finops, records } = setup();
    await finops.wrapFetch(base.fetch)(bedrockUrl(NOVA, 'converse', 'http://127.0.0.1:9999'), post(converseRequest(), { authorization: sigV4() }));
    const viaProxy = finops.wrapFetch(base.fetch, { endpoints: ['https://gateway.internal/bedrock/'] });
    await viaProxy(bedrockUrl(NOVA, 'converse', 'https://gateway.internal/bedrock'), post(converseRequest(), { authorization: 'Bearer key' }));
    await viaProxy(bedrockUrl(NOVA, 'converse', 'https://gateway.internal/other'), post(converseRequest()));
    expect(records.map((r) => r.operation)).toEqual(['Converse', 'Converse']);
  });

  it('sends through the global fetch as it is at call time, and never through itself when installed as the global fetch', async () => {
    server.use(http.get('https://example.com/ping', () => HttpResponse.text('pong')));
    const { finops } = setup();
    const before = globalThis.fetch;
    globalThis.fetch = finops.fetch;
    try {
      expect(await (await fetch('https://example.com/ping')).text()).toBe('pong');
    } finally {
      globalThis.fetch = before;
    }
  });

  it('rejects invalid wrapFetch options with a ConfigurationError naming the field', () => {
    const { finops } = setup();
    const attempts = [
      () => finops.wrapFetch(fetch, { endpoints: ['not a url'] }),
      () => finops.wrapFetch(fetch, { endpoints: ['ftp://x'] }),
      () => finops.wrapFetch(fetch, { endpoint: [] } as never),
      () => finops.wrapFetch('fetch' as never),
    ];
    const fields = attempts.map((f) => {
      try {
        f();
        return 'no error';
      } catch (error) {
        return isConfigurationError(error) ? error.field : String(error);
      }
    });
    expect(fields).toEqual(['wrapFetch.options.endpoints[0]', 'wrapFetch.options.endpoints[0]', 'wrapFetch.options.endpoint', 'wrapFetch.baseFetch']);
  });
});
