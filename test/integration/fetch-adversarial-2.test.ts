import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { FetchHttpHandler } from '@smithy/fetch-http-handler';
import { afterEach, describe, expect, it } from 'vitest';
import { bedrockFinOps, BudgetExceededError, type BedrockFinOps, type BedrockFinOpsOptions, type UsageRecord } from '../../src/index.js';
import { expectNothingReserved } from '../helpers/adversary.js';
import { json } from '../helpers/bedrock.js';
import { bedrockUrl, converseRequest, fakeFetch, post } from '../helpers/fetch.js';

// A second adversarial pass on the fetch path: each test fails on the code before its fix, except the one that
// says it guards a fix (another instance below a metered fetch is still metered).

const NOVA = 'us.amazon.nova-lite-v1:0';
const ARN = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123def456';
const FALLBACK = 'us.anthropic.claude-3-haiku-20240307-v1:0';
const reply = () => json({ output: { message: { role: 'assistant', content: [{ text: 'ok' }] } }, stopReason: 'end_turn', usage: { inputTokens: 700, outputTokens: 50, totalTokens: 750 } });
const throttled = () => new Response('{"message":"slow down"}', { status: 429, headers: { 'x-amzn-errortype': 'ThrottlingException' } });

/** Every call estimated at 10 input tokens, against one total budget. */
function setup(options: BedrockFinOpsOptions = {}, limit = 100_000) {
  const records: UsageRecord[] = [];
  const finops = bedrockFinOps({ estimator: () => 10, budgets: [{ name: 'total', limit: { tokens: limit }, window: 'total' }], onUsage: (r) => records.push(r), ...options });
  return { finops, records };
}

async function usedTokens(finops: BedrockFinOps): Promise<number> {
  const [status] = await finops.budgets.status();
  return status?.used.tokens ?? 0;
}

const savedFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = savedFetch;
});

describe('fetch adversarial (2): answers metering must not break', () => {
  it('hands a 204 answer to a Converse fetch back as it came, where it threw a TypeError from rebuilding the response', async () => {
    const base = fakeFetch(() => new Response(null, { status: 204, headers: { 'x-amzn-requestid': 'req-204' } }));
    const { finops, records } = setup();
    const response = await finops.wrapFetch(base.fetch)(bedrockUrl(NOVA, 'converse'), post(converseRequest()));
    expect(response.status).toBe(204);
    expect(response.body).toBeNull();
    // Recorded: a success without readable usage. Charged: the 10-token input estimate. Released: the rest of the reservation.
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ outcome: 'success', usageSource: 'estimate', inputTokens: 10, requestId: 'req-204' });
    expect(await usedTokens(finops)).toBe(10);
    await expectNothingReserved(finops);
  });

  it('works over a base fetch that answers with a plain Response (a test double), as it does unmetered', async () => {
    const plain = ((() => reply()) as unknown) as typeof fetch;
    const { finops, records } = setup();
    const response = await finops.wrapFetch(plain)(bedrockUrl(NOVA, 'converse'), post(converseRequest()));
    expect(await response.json()).toMatchObject({ usage: { inputTokens: 700 } });
    // Recorded: one success with the body's usage. Charged: 750 tokens. Released: the reservation. (Was: a TypeError, recorded as an error.)
    expect(records.map((r) => [r.outcome, r.inputTokens, r.outputTokens])).toEqual([['success', 700, 50]]);
    expect(await usedTokens(finops)).toBe(750);
    await expectNothingReserved(finops);
  });

  it('charges an estimate for a call aborted while its 200 JSON body was arriving: Bedrock billed it (it was recorded as an error and charged 0)', async () => {
    const controller = new AbortController();
    const base = fakeFetch((_input, init) => {
      let reads = 0;
      const body = new ReadableStream<Uint8Array>(
        {
          start(c) {
            init?.signal?.addEventListener('abort', () => c.error(new DOMException('This operation was aborted', 'AbortError')));
          },
          pull(c) {
            // The first read gets the start of the JSON; on the next, the caller aborts (the body has begun arriving).
            if (reads++ === 0) c.enqueue(new TextEncoder().encode('{"output":'));
            else controller.abort();
          },
        },
        { highWaterMark: 0 },
      );
      return new Response(body, { headers: { 'content-type': 'application/json' } });
    });
    const { finops, records } = setup();
    const pending = finops.wrapFetch(base.fetch)(bedrockUrl(NOVA, 'converse'), { ...post(converseRequest()), signal: controller.signal });
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    // Recorded: abandoned by the caller, usage estimated. Charged: the 10-token input estimate, as the SDK path charges. Released: the reservation.
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ outcome: 'abandoned', error: 'AbortError', usageSource: 'estimate', inputTokens: 10 });
    expect(await usedTokens(finops)).toBe(10);
    await expectNothingReserved(finops);
  });
});

describe('fetch adversarial (2): one call, one record', () => {
  it('meters a call once through a metered fetch wrapped in another of the same instance (it was recorded and charged twice)', async () => {
    const base = fakeFetch(() => reply());
    const { finops, records } = setup();
    await finops.wrapFetch(finops.wrapFetch(base.fetch))(bedrockUrl(NOVA, 'converse'), post(converseRequest()));
    // Recorded: one call. Charged: its 750 tokens once. Released: the one reservation.
    expect(records).toHaveLength(1);
    expect(base.calls).toHaveLength(1);
    expect(await usedTokens(finops)).toBe(750);
    await expectNothingReserved(finops);
  });

  it('meters a call once when finops.fetch sends through a global fetch the same instance wraps, as the README suggests both', async () => {
    const base = fakeFetch(() => reply());
    const { finops, records } = setup();
    globalThis.fetch = finops.wrapFetch(base.fetch);
    await finops.fetch(bedrockUrl(NOVA, 'converse'), post(converseRequest()));
    // Recorded: one call. Charged: 750 tokens (was 1,500 over two records).
    expect(records).toHaveLength(1);
    expect(await usedTokens(finops)).toBe(750);
    await expectNothingReserved(finops);
  });

  it('meters an SDK call once on a fetch-based request handler while the global fetch is metered by the same instance', async () => {
    const base = fakeFetch(() => reply());
    const { finops, records } = setup();
    globalThis.fetch = finops.wrapFetch(base.fetch);
    const client = new BedrockRuntimeClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, requestHandler: new FetchHttpHandler(), maxAttempts: 1 });
    client.middlewareStack.use(finops);
    const output = await client.send(new ConverseCommand({ modelId: NOVA, messages: [{ role: 'user', content: [{ text: 'hello' }] }] }));
    expect(output.usage?.inputTokens).toBe(700);
    // Recorded: one Converse call (was two: the SDK path's and the fetch path's). Charged: 750 tokens once.
    expect(base.calls).toHaveLength(1);
    expect(records).toHaveLength(1);
    expect(await usedTokens(finops)).toBe(750);
    await expectNothingReserved(finops);
  });

  // Guards the fix above: only the same instance's metering is skipped below a metered fetch.
  it('still meters calls of another instance under a metered fetch (each plugin has its own budgets)', async () => {
    const base = fakeFetch(() => reply());
    const inner = setup();
    const outer = setup();
    await outer.finops.wrapFetch(inner.finops.wrapFetch(base.fetch))(bedrockUrl(NOVA, 'converse'), post(converseRequest()));
    // Recorded: one record in each instance; each charged 750 tokens to its own budget.
    expect([inner.records.length, outer.records.length]).toEqual([1, 1]);
    expect([await usedTokens(inner.finops), await usedTokens(outer.finops)]).toEqual([750, 750]);
  });
});

/** A Request of another fetch implementation (node-fetch's, the undici package's): not this realm's class, the same shape. */
class ForeignRequest {
  readonly headers: Headers;
  readonly signal: AbortSignal | null = null;
  readonly redirect = 'follow';
  bodyUsed = false;
  constructor(
    readonly url: string,
    readonly method: string,
    headers: Record<string, string>,
    private readonly text: string | null,
  ) {
    this.headers = new Headers(headers);
  }
  get body(): ReadableStream<Uint8Array> | null {
    return this.text === null ? null : new Response(this.text).body;
  }
  clone(): ForeignRequest {
    return new ForeignRequest(this.url, this.method, Object.fromEntries(this.headers), this.text);
  }
  arrayBuffer(): Promise<ArrayBuffer> {
    this.bodyUsed = true;
    return new Response(this.text).arrayBuffer();
  }
}

describe('fetch adversarial (2): what is a request', () => {
  it("meters and budget-checks another fetch implementation's Request (it went out unmetered, past every budget)", async () => {
    const base = fakeFetch(() => reply());
    const { finops, records } = setup({}, 5);
    const request = new ForeignRequest(bedrockUrl(NOVA, 'converse'), 'POST', { 'content-type': 'application/json' }, JSON.stringify(converseRequest()));
    // A 10-token estimate against a 5-token budget: refused before anything is sent.
    await expect(finops.wrapFetch(base.fetch)(request as unknown as Request)).rejects.toBeInstanceOf(BudgetExceededError);
    // Charged: nothing. Released: nothing was reserved. Recorded: nothing. Sent: nothing.
    expect(base.calls).toHaveLength(0);
    expect(records).toHaveLength(0);
    expect(await usedTokens(finops)).toBe(0);
    await expectNothingReserved(finops);
  });

  it('meters a foreign Request within budget and hands the base fetch that same object', async () => {
    const base = fakeFetch(() => reply());
    const { finops, records } = setup();
    const request = new ForeignRequest(bedrockUrl(NOVA, 'converse'), 'POST', {}, JSON.stringify(converseRequest()));
    await finops.wrapFetch(base.fetch)(request as unknown as Request);
    expect(base.calls[0]?.input).toBe(request);
    expect(request.bodyUsed).toBe(false);
    // Recorded: one success, 700 + 50 tokens. Charged: 750. Released: the reservation.
    expect(records.map((r) => [r.outcome, r.inputTokens, r.outputTokens])).toEqual([['success', 700, 50]]);
    expect(await usedTokens(finops)).toBe(750);
  });

  it('hands headers given as a one-shot iterator to the base fetch, where reading them left it none', async () => {
    const base = fakeFetch(() => new Response('ok'));
    const { finops, records } = setup();
    function* headers(): Generator<[string, string]> {
      yield ['x-trace', 'abc'];
    }
    await finops.wrapFetch(base.fetch)('https://example.com/upload', { method: 'POST', headers: headers() as unknown as Record<string, string>, body: 'x' });
    const sent = base.calls[0]?.init;
    expect(new Headers(sent?.headers).get('x-trace')).toBe('abc');
    expect(sent?.body).toBe('x');
    // Not Bedrock: nothing recorded, reserved or charged.
    expect(records).toHaveLength(0);
    expect(await usedTokens(finops)).toBe(0);
  });
});

describe('fetch adversarial (2): provisioned spill keeps the caller’s fetch options', () => {
  const spillSetup = () => {
    const base = fakeFetch((input) => ((input instanceof Request ? input.url : String(input)).includes(encodeURIComponent(ARN)) ? throttled() : reply()));
    const { finops, records } = setup({ provisioned: { [ARN]: { model: 'anthropic.claude-3-haiku-20240307-v1:0', fallback: FALLBACK } } });
    return { base, finops, records, metered: finops.wrapFetch(base.fetch) };
  };

  it('sends the fallback with the init options the caller gave (a dispatcher, redirect, keepalive), which it dropped', async () => {
    const { base, finops, records, metered } = spillSetup();
    const dispatcher = { proxy: 'http://proxy.internal:3128' };
    const init = { ...post(converseRequest(), { authorization: 'Bearer key' }), redirect: 'error', keepalive: true, dispatcher } as unknown as RequestInit;
    expect((await metered(bedrockUrl(ARN, 'converse'), init)).status).toBe(200);
    expect(base.calls).toHaveLength(2);
    const second = base.calls[1]!;
    expect(second.input).toBeInstanceOf(Request);
    expect(second.init).toEqual({ redirect: 'error', keepalive: true, dispatcher });
    expect(await (second.input as Request).text()).toBe(JSON.stringify(converseRequest()));
    // Recorded: one call served by the fallback. Charged: its 750 tokens. Released: the reservation.
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ modelId: FALLBACK, fallback: { from: ARN, reason: 'ThrottlingException' }, inputTokens: 700 });
    expect(await usedTokens(finops)).toBe(750);
    await expectNothingReserved(finops);
  });

  it("re-addresses a Request with its redirect mode and body, and without a caller's init sends none", async () => {
    const { base, records, metered } = spillSetup();
    const request = new Request(bedrockUrl(ARN, 'converse'), { ...post(converseRequest(), { authorization: 'Bearer key' }), redirect: 'manual' });
    expect((await metered(request)).status).toBe(200);
    const second = base.calls[1]!;
    expect((second.input as Request).redirect).toBe('manual');
    expect(second.init).toBeUndefined();
    expect(await (second.input as Request).text()).toBe(JSON.stringify(converseRequest()));
    // Recorded: one call, served by the fallback, 750 tokens.
    expect(records.map((r) => [r.modelId, r.inputTokens + r.outputTokens])).toEqual([[FALLBACK, 750]]);
  });
});
