import { createAmazonBedrock } from '@ai-sdk/amazon-bedrock';
import { generateText } from 'ai';
import { Headers as UndiciHeaders } from 'undici';
import { describe, expect, it } from 'vitest';
import { SimulatorEngine } from '../../src/testing/index.js';
import { bedrockUrl, converseRequest, post, restoreGlobalFetch, sigV4, METERED, NOTHING, outcome, totalBudget, usedTokens } from '../helpers/fetch.js';
import { expectNothingReserved } from '../helpers/adversary.js';
import { simulatorFetch } from '../helpers/quota-burst.js';

// A sixth adversarial pass on the fetch path, after the init copy and read-once inits: each test fails on the code
// before its fix, except those that say they guard one. The network is the simulator: a Converse of `converseRequest()`
// ('hello', max 50) is 5 input + 20 output tokens; the plugin estimates 10 input tokens and reserves 60 before it sends.

type HeadersGiven = NonNullable<RequestInit['headers']>;
const NOVA = 'us.amazon.nova-lite-v1:0';
const PROXY = 'https://bedrock.vpce-alias.internal';
restoreGlobalFetch();

/** The simulator as the network: every (input, init) a base fetch was handed, and the authorization each request carried. */
function network() {
  const sim = simulatorFetch(new SimulatorEngine({ outputTokens: 20 }));
  const given: { input: string | URL | Request; init: RequestInit | undefined }[] = [];
  const auth: (string | null)[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    given.push({ input, init });
    const request = new Request(input, init);
    auth.push(request.headers.get('authorization'));
    return sim(request);
  };
  return { fetch, given, auth };
}

const body = JSON.stringify(converseRequest());
// An abort in flight is charged the estimate of its input (10 tokens), never 0.
const ABORT_CHARGE = 10;

describe('fetch adversarial (6): the base fetch gets headers of the kind it was given', () => {
  it('hands a Bedrock call’s headers of another fetch implementation (the undici package) on as a Headers, not a list', async () => {
    const setup = totalBudget();
    const net = network();
    const headers = new UndiciHeaders({ 'content-type': 'application/json', authorization: 'Bearer key' });
    await (await setup.finops.wrapFetch(net.fetch)(bedrockUrl(NOVA, 'converse'), { method: 'POST', headers: headers as unknown as HeadersGiven, body })).text();
    // Before: the base fetch got [['authorization', …], …] (init.headers.get was not a function). Now a Headers.
    const given = net.given[0]?.init?.headers;
    expect(given instanceof Headers ? given.get('authorization') : given).toBe('Bearer key');
    expect(await outcome(setup)).toEqual(METERED);
  });

  it('hands a Headers subclass on as a Headers (another request, sent unmetered)', async () => {
    const setup = totalBudget();
    const net = network();
    class Traced extends Headers {}
    await setup.finops.wrapFetch(net.fetch)('https://example.com/x', { headers: new Traced({ 'x-trace': '1' }) });
    const given = net.given[0]?.init?.headers;
    expect(given instanceof Headers ? given.get('x-trace') : given).toBe('1');
    expect(await outcome(setup)).toEqual(NOTHING);
  });

  it('hands the headers record of an init made by a class on as a record, its names as written', async () => {
    const setup = totalBudget();
    const net = network();
    class Options {
      method = 'GET';
      headers = { 'X-Api-Key': 'k' };
    }
    await setup.finops.wrapFetch(net.fetch)('https://example.com/x', new Options());
    // Before: [['x-api-key', 'k']] (a base fetch reading init.headers['X-Api-Key'] found nothing).
    expect(net.given[0]?.init?.headers).toEqual({ 'X-Api-Key': 'k' });
    expect(await outcome(setup)).toEqual(NOTHING);
  });
});

describe('fetch adversarial (6): the AI SDK provider’s base fetch (guard)', () => {
  it('gets from the metered fetch what it gets unmetered: a URL string, an init of the same members, headers a record, body a string', async () => {
    const shapeOf = (g: { input: unknown; init: RequestInit | undefined }) => ({
      input: typeof g.input,
      members: Object.keys(g.init ?? {}).sort(),
      headers: Object.getPrototypeOf(g.init?.headers) === Object.prototype ? Object.keys(g.init?.headers ?? {}).sort() : 'not a record',
      body: typeof g.init?.body,
    });
    const run = async (fetch: (input: string | URL | Request, init?: RequestInit) => Promise<Response>) => {
      const bedrock = createAmazonBedrock({ region: 'us-east-1', accessKeyId: 'AKIDTEST', secretAccessKey: 'secret', fetch });
      await generateText({ model: bedrock(NOVA), prompt: 'hello', maxRetries: 0 });
    };
    const direct = network();
    await run(direct.fetch);
    const setup = totalBudget();
    const metered = network();
    await run(setup.finops.wrapFetch(metered.fetch));
    expect(metered.given.map(shapeOf)).toEqual(direct.given.map(shapeOf));
    expect(metered.given[0]?.init?.headers).toMatchObject({ authorization: expect.stringMatching(/^AWS4-HMAC-SHA256 /) as unknown });
    // One Converse of the prompt: recorded and charged once, the reservation released.
    expect((await outcome(setup)).recorded).toHaveLength(1);
  });
});

describe('fetch adversarial (6): an input fetch cannot make a URL of', () => {
  // Guards the fix above (a URL's string that is no URL is handed on as read): an object whose string can only be
  // `[object …]` is handed on as it is, as it was before.
  it('hands a legacy url.parse()-style object on as it is (node-fetch reads its href)', async () => {
    const setup = totalBudget();
    const given: unknown[] = [];
    // A base fetch of node-fetch's kind: an object with an href is that URL.
    const base = (input: unknown): Promise<Response> => {
      given.push(input);
      return Promise.resolve(new Response('ok'));
    };
    const legacy: unknown = { protocol: 'https:', host: 'example.com', pathname: '/x', href: 'https://example.com/x' };
    await setup.finops.wrapFetch(base)(legacy as string);
    expect(given).toEqual([legacy]);
    expect(await outcome(setup)).toEqual(NOTHING);
  });
});

describe('fetch adversarial (6): headers that read one way to the meter and another to fetch', () => {
  /** A value the meter reads first (`Bearer x`: not signed) and fetch reads after (signed for bedrock). */
  const turning = () => {
    let reads = 0;
    return { toString: () => (reads++ === 0 ? 'Bearer x' : sigV4()) };
  };
  const cases: [string, () => HeadersGiven][] = [
    ['a record value with toString', () => ({ authorization: turning() }) as unknown as HeadersGiven],
    ['a list pair with a value with toString', () => [['authorization', turning()]] as unknown as HeadersGiven],
    [
      'a Headers with an iterator of its own',
      () => {
        const h = new Headers({ 'content-type': 'application/json' });
        let reads = 0;
        Object.defineProperty(h, Symbol.iterator, { value: () => (reads++ === 0 ? [][Symbol.iterator]() : [['authorization', sigV4()]][Symbol.iterator]()) });
        return h;
      },
    ],
  ];
  for (const [what, headers] of cases) {
    it(`sends what the meter read when the signature is ${what} (a call signed for bedrock went out unmetered)`, async () => {
      const setup = totalBudget();
      const net = network();
      await (await setup.finops.wrapFetch(net.fetch)(bedrockUrl(NOVA, 'converse', PROXY), { method: 'POST', headers: headers(), body })).text();
      // Before: the network got a request signed for bedrock, nothing recorded, 0 charged. Now the request that went out
      // is the one the meter read, not signed for bedrock (so not a Bedrock call): sent once, unsigned, nothing charged.
      expect(net.auth).not.toContain(sigV4());
      expect(await outcome(setup)).toEqual(NOTHING);
    });
  }
});

describe('fetch adversarial (6): a request the meter could not read', () => {
  it('rejects a call whose init getter throws on the meter’s read (fetch read it again and sent it unmetered)', async () => {
    const setup = totalBudget();
    const net = network();
    let reads = 0;
    const init = {
      method: 'POST',
      body,
      get headers(): HeadersGiven {
        if (reads++ === 0) throw new Error('first read');
        return { authorization: 'Bearer key' };
      },
    };
    // Before: sent to the AWS host, 25 tokens billed, nothing recorded or charged. Now rejected with the getter's error:
    // nothing sent, recorded, reserved or charged.
    await expect(setup.finops.wrapFetch(net.fetch)(bedrockUrl(NOVA, 'converse'), init)).rejects.toThrow('first read');
    expect(net.given).toEqual([]);
    expect(await outcome(setup)).toEqual(NOTHING);
  });

  it('hands on the string the meter read when it was not a URL (fetch’s second ToString read a Bedrock URL)', async () => {
    const setup = totalBudget();
    const net = network();
    let reads = 0;
    const input = { toString: () => (reads++ === 0 ? 'not a url' : bedrockUrl(NOVA, 'converse')) } as unknown as string;
    // Before: sent, billed, nothing recorded. Now the base fetch gets 'not a url', which fetch refuses: nothing sent,
    // recorded or charged.
    await expect(setup.finops.wrapFetch(net.fetch)(input, post(converseRequest(), { authorization: 'Bearer key' }))).rejects.toThrow(TypeError);
    expect(net.given.map((g) => g.input)).toEqual(['not a url']);
    expect(await outcome(setup)).toEqual(NOTHING);
  });

  it('rejects a call whose URL toString throws on the meter’s read', async () => {
    const setup = totalBudget();
    const net = network();
    let reads = 0;
    const input = {
      toString: () => {
        if (reads++ === 0) throw new Error('first read');
        return bedrockUrl(NOVA, 'converse');
      },
    } as unknown as string;
    await expect(setup.finops.wrapFetch(net.fetch)(input, post(converseRequest(), { authorization: 'Bearer key' }))).rejects.toThrow('first read');
    expect(net.given).toEqual([]);
    expect(await outcome(setup)).toEqual(NOTHING);
  });
});

describe('fetch adversarial (6): objects noted as out are released', () => {
  // Guards: a base fetch keeps the init it was handed and sends it again later, from the root, after the call ended.
  const failures: [string, (signal: AbortController) => (input: string | URL | Request, init?: RequestInit) => Promise<Response>][] = [
    [
      'threw synchronously',
      () => () => {
        throw new TypeError('sync');
      },
    ],
    ['rejected', () => () => Promise.reject(new TypeError('async'))],
    [
      'was aborted',
      (controller) => (_input, init) =>
        new Promise<Response>((_resolve, reject) => {
          init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
          controller.abort();
        }),
    ],
  ];
  for (const [what, failing] of failures) {
    it(`meters a later send of the objects of a call whose base fetch ${what}`, async () => {
      const setup = totalBudget();
      const net = network();
      globalThis.fetch = net.fetch;
      const controller = new AbortController();
      const kept: { input: string | URL | Request; init: RequestInit | undefined }[] = [];
      const fail = failing(controller);
      const metered = setup.finops.wrapFetch((input, init) => {
        kept.push({ input, init });
        return fail(input, init);
      });
      await expect(metered(bedrockUrl(NOVA, 'converse'), { ...post(converseRequest(), { authorization: 'Bearer key' }), signal: controller.signal })).rejects.toThrow();
      // The first call: nothing sent; recorded as a failure. The kept objects sent again (a fresh signal) are metered.
      const again = kept[0];
      if (again === undefined) throw new Error('nothing kept');
      await (await setup.finops.fetch(again.input, { ...again.init, signal: null })).text();
      expect(net.given).toHaveLength(1);
      // An abort in flight is charged its estimate (10 input tokens); a failure nothing. The later send 5 + 20.
      const first = what === 'was aborted' ? ['abandoned', 10, 0] : ['error', 0, 0];
      expect(setup.records.map((r) => [r.outcome, r.inputTokens, r.outputTokens])).toEqual([first, ['success', 5, 20]]);
      expect(await usedTokens(setup.finops)).toBe(25 + (what === 'was aborted' ? ABORT_CHARGE : 0));
      await expectNothingReserved(setup.finops);
    });
  }
});

describe('fetch adversarial (6): presigned URLs (guards)', () => {
  const presigned = (credential: string): string => `${bedrockUrl(NOVA, 'converse', PROXY)}?X-Amz-Algorithm=aws4-hmac-sha256&X-Amz-Credential=${credential}&X-Amz-Date=20260101T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=${'0'.repeat(64)}`;
  const through = async (url: string) => {
    const setup = totalBudget();
    const net = network();
    await (await setup.finops.wrapFetch(net.fetch)(url, post(converseRequest()))).text();
    return outcome(setup);
  };

  it('meters a credential whose slashes are percent-encoded, the algorithm in lower case', async () => {
    expect(await through(presigned('AKIDTEST%2F20260101%2Fus-east-1%2Fbedrock%2Faws4_request'))).toEqual(METERED);
  });

  it('leaves a scope naming bedrock-runtime or bedrock-agent-runtime (not the signing name) and bedrock in another parameter unmetered', async () => {
    expect(await through(presigned('AKIDTEST/20260101/us-east-1/bedrock-runtime/aws4_request'))).toEqual(NOTHING);
    expect(await through(presigned('AKIDTEST/20260101/us-east-1/bedrock-agent-runtime/aws4_request'))).toEqual(NOTHING);
    expect(await through(`${presigned('AKIDTEST/20260101/us-east-1/s3/aws4_request')}&X-Amz-Meta=AKIDTEST/20260101/us-east-1/bedrock/aws4_request`)).toEqual(NOTHING);
  });
});

describe('fetch adversarial (6): what the caller changes or converts after the meter read it', () => {
  const OPUS = 'us.anthropic.claude-opus-4-1-20250805-v1:0';

  it('sends a URL object as it was admitted: one changed to a denied model while the call waits is not sent there', async () => {
    const setup = totalBudget({ policies: [{ denyModels: ['anthropic.claude-opus-*'] }] });
    const net = network();
    const url = new URL(bedrockUrl(NOVA, 'converse'));
    const pending = setup.finops.wrapFetch(net.fetch)(url, post(converseRequest(), { authorization: 'Bearer key' }));
    // Changed while the call waits for its body to be read and its admission.
    url.pathname = `/model/${encodeURIComponent(OPUS)}/converse`;
    await (await pending).text();
    // Before: the denied Opus model was called, recorded and charged as Nova (the policy bypassed). Now the request that
    // went out is the Nova call the meter admitted: recorded 5 + 20, charged 25, the reservation released.
    expect(net.given.map((g) => new Request(g.input, g.init).url)).toEqual([bedrockUrl(NOVA, 'converse')]);
    expect(setup.records.map((r) => r.modelId)).toEqual([NOVA]);
    expect(await outcome(setup)).toEqual(METERED);
  });

  it('sends a body of bytes as it was admitted: a larger maxTokens written into the caller’s buffer while the call waits is not sent', async () => {
    const setup = totalBudget({}, 100);
    const sim = simulatorFetch(new SimulatorEngine({ outputTokens: 20 }));
    const sent: string[] = [];
    const base = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const request = new Request(input, init);
      sent.push(await request.clone().text());
      return sim(request);
    };
    const bytes = new TextEncoder().encode(body);
    const pending = setup.finops.wrapFetch(base)(bedrockUrl(NOVA, 'converse'), { method: 'POST', headers: { authorization: 'Bearer key' }, body: bytes });
    // Reserved for maxTokens 50 (10 + 50 = 60 of the 100 the budget has); then 50 becomes 99 in the caller's buffer.
    bytes.set(new TextEncoder().encode('"maxTokens":99'), body.indexOf('"maxTokens":50'));
    await (await pending).text();
    // Before: the request sent asked for 99 tokens, beyond what was reserved. Now the bytes admitted are sent (maxTokens
    // 50): recorded 5 + 20, charged 25, the reservation released.
    expect(sent).toEqual([body]);
    expect(await outcome(setup)).toEqual(METERED);
  });

  it('sends headers as they were admitted: a service tier changed in the caller’s record while the call waits is not sent', async () => {
    const setup = totalBudget();
    const sim = simulatorFetch(new SimulatorEngine({ outputTokens: 20 }));
    const tiers: (string | null)[] = [];
    const base = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const request = new Request(input, init);
      tiers.push(request.headers.get('x-amzn-bedrock-service-tier'));
      return sim(request);
    };
    const headers: Record<string, string> = { authorization: 'Bearer key', 'x-amzn-bedrock-service-tier': 'flex' };
    const pending = setup.finops.wrapFetch(base)(bedrockUrl(NOVA, 'converse'), { method: 'POST', headers, body });
    headers['x-amzn-bedrock-service-tier'] = 'priority';
    await (await pending).text();
    // Before: reserved at flex, sent at priority. Now sent at flex, as admitted: recorded 5 + 20, charged 25.
    expect(tiers).toEqual(['flex']);
    expect(await outcome(setup)).toEqual(METERED);
  });

  it('meters a request-like object whose toString (what fetch sends to) is a Bedrock URL, its url elsewhere', async () => {
    const setup = totalBudget();
    const net = network();
    const lookalike = { url: 'https://example.com/', method: 'GET', headers: new Headers(), clone: () => lookalike, toString: () => bedrockUrl(NOVA, 'converse') };
    await (await setup.finops.wrapFetch(net.fetch)(lookalike as unknown as Request, post(converseRequest(), { authorization: 'Bearer key' }))).text();
    // Before: read as a request to example.com, and fetch sent it to Bedrock: unmetered. Now 5 + 20 recorded, 25 charged.
    expect(net.given.map((g) => g.input)).toEqual([bedrockUrl(NOVA, 'converse')]);
    expect(await outcome(setup)).toEqual(METERED);
  });

  // Guards the fix: a Request of another fetch implementation (its string is `[object Request]`) is read by its shape.
  it('still reads an undici-package Request by its shape', async () => {
    const { Request: UndiciRequest } = await import('undici');
    const setup = totalBudget();
    const seen: unknown[] = [];
    const base = async (input: string | URL | Request): Promise<Response> => {
      seen.push(input);
      return simulatorFetch(new SimulatorEngine({ outputTokens: 20 }))(bedrockUrl(NOVA, 'converse'), post(converseRequest()));
    };
    const request: unknown = new UndiciRequest(bedrockUrl(NOVA, 'converse'), { method: 'POST', headers: { authorization: 'Bearer key' }, body });
    await (await setup.finops.wrapFetch(base)(request as Request)).text();
    expect(seen).toEqual([request]);
    expect(await outcome(setup)).toEqual(METERED);
  });
});
