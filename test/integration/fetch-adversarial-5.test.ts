import { describe, expect, it } from 'vitest';
import { SimulatorEngine } from '../../src/testing/index.js';
import { expectNothingReserved } from '../helpers/adversary.js';
import { bedrockUrl, converseRequest, post, restoreGlobalFetch, sigV4, totalBudget, usedTokens } from '../helpers/fetch.js';
import { simulatorFetch } from '../helpers/quota-burst.js';

// A fifth adversarial pass on the fetch path: each test fails on the code before its fix, except those that say they
// guard one. The network is the simulator: a Converse of `converseRequest()` ('hello', max 50) is 5 input + 20 output
// tokens; the plugin estimates 10 input tokens and reserves 10 + 50 = 60 before it sends.

const NOVA = 'us.amazon.nova-lite-v1:0';
const PROXY = 'https://bedrock.vpce-alias.internal';
restoreGlobalFetch();

/** The simulator as the network, keeping the method and URL of every request that reached it. */
function network() {
  const sim = simulatorFetch(new SimulatorEngine({ outputTokens: 20 }));
  const sent: string[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    sent.push(`${request.method} ${request.url}`);
    return sim(request);
  };
  return { fetch, sent };
}

/** A Converse POST with an API key (recognised by the AWS host, not by a signature). */
const converse = (): RequestInit => post(converseRequest(), { authorization: 'Bearer key' });

/** Sends `input`/`init` through a fresh plugin's metered fetch to the simulator; what was sent, recorded and charged. */
async function throughPlugin(input: string | URL | Request, init?: RequestInit) {
  const { finops, records } = totalBudget();
  const net = network();
  await (await finops.wrapFetch(net.fetch)(input, init)).text();
  await expectNothingReserved(finops);
  return { sent: net.sent, recorded: records.map((r) => [r.operation, r.inputTokens, r.outputTokens]), charged: await usedTokens(finops) };
}

const metered25 = (url = bedrockUrl(NOVA, 'converse')) => ({ sent: [`POST ${url}`], recorded: [['Converse', 5, 20]], charged: 25 });

/** A queue whose worker was started outside any call: each job runs in the worker's (root) async context. */
function rootQueue(send: () => typeof fetch) {
  const jobs: (() => void)[] = [];
  let wake: (() => void) | undefined;
  void (async () => {
    for (;;) {
      await new Promise<void>((resolve) => (wake = resolve));
      for (const job of jobs.splice(0)) job();
    }
  })();
  return (input: string | URL | Request, init?: RequestInit): Promise<Response> =>
    new Promise<Response>((resolve, reject) => {
      jobs.push(() => void send()(input, init).then(resolve, reject));
      wake?.();
    });
}

describe('fetch adversarial (5): a method fetch converts to POST', () => {
  const methods: [string, unknown][] = [
    ['an object with toString', { toString: () => 'POST' }],
    ['an object with toString in lower case', { toString: () => 'post' }],
    ['an object with Symbol.toPrimitive', { [Symbol.toPrimitive]: () => 'POST' }],
    ['a one-element array', ['POST']],
  ];
  for (const [what, method] of methods) {
    it(`meters a call whose init.method is ${what} (fetch sends a POST; it went out unmetered)`, async () => {
      // Before: sent, nothing recorded, 0 charged. Now recorded 5 + 20, charged 25, the reservation released.
      expect(await throughPlugin(bedrockUrl(NOVA, 'converse'), { ...converse(), method: method as string })).toEqual(metered25());
    });
  }

  it('meters a PUT Request whose init overrides the method with an object reading post', async () => {
    const request = new Request(bedrockUrl(NOVA, 'converse'), { ...converse(), method: 'PUT' });
    // Before: sent as POST unmetered. Now 25 charged.
    expect(await throughPlugin(request, { method: { toString: () => 'post' } as unknown as string })).toEqual(metered25());
  });

  it('reads a method getter once: one that answers GET to the meter and POST to fetch is sent as what the meter read', async () => {
    let reads = 0;
    const init = { ...converse(), get method() { return ++reads === 1 ? 'GET' : 'POST'; } };
    const { finops, records } = totalBudget();
    const net = network();
    // Before: the meter read GET (no Bedrock call) and fetch read POST: the call went out unmetered, 25 tokens billed and
    // none charged. Now the base fetch gets the GET the meter read, which fetch refuses with a body: nothing is sent,
    // recorded, reserved or charged.
    await expect(finops.wrapFetch(net.fetch)(bedrockUrl(NOVA, 'converse'), init)).rejects.toThrow(TypeError);
    expect(reads).toBe(1);
    expect(net.sent).toEqual([]);
    expect(records).toEqual([]);
    expect(await usedTokens(finops)).toBe(0);
  });

  it('reads a proxied init once: one whose method reads GET until fetch reads it is sent as what the meter read', async () => {
    let reads = 0;
    const init = new Proxy(converse(), { get: (target, key): unknown => (key === 'method' ? (++reads === 1 ? 'GET' : 'POST') : Reflect.get(target, key)) });
    const { finops, records } = totalBudget();
    const net = network();
    // Before: metered nothing (the meter read GET), and fetch sent a POST: unmetered. Now the GET read is what the base
    // fetch gets, which fetch refuses with a body: nothing sent, recorded or charged.
    await expect(finops.wrapFetch(net.fetch)(bedrockUrl(NOVA, 'converse'), init)).rejects.toThrow(TypeError);
    expect(reads).toBe(1);
    expect(net.sent).toEqual([]);
    expect(records).toEqual([]);
    expect(await usedTokens(finops)).toBe(0);
  });

  // Guards the fix: a Request whose method was given in lower case is a POST, as it was.
  it('still meters a Request made with method post in lower case', async () => {
    expect(await throughPlugin(new Request(bedrockUrl(NOVA, 'converse'), { ...converse(), method: 'post' }))).toEqual(metered25());
  });
});

describe('fetch adversarial (5): a presigned URL to a host that is not AWS', () => {
  const presigned = (service: string, names = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature']): string => {
    const [algorithm = '', credential = '', signature = ''] = names;
    const query = new URLSearchParams({ [algorithm]: 'AWS4-HMAC-SHA256', [credential]: `AKIDTEST/20260101/us-east-1/${service}/aws4_request`, 'X-Amz-Date': '20260101T000000Z', 'X-Amz-SignedHeaders': 'host', [signature]: '0'.repeat(64) });
    return `${bedrockUrl(NOVA, 'converse', PROXY)}?${query.toString()}`;
  };

  it('meters a call presigned for bedrock in its query, sent to a VPC endpoint alias (it went out unmetered)', async () => {
    const url = presigned('bedrock');
    // Before: sent, nothing recorded or charged. Now 5 + 20 recorded, 25 charged, the reservation released.
    expect(await throughPlugin(url, post(converseRequest()))).toEqual(metered25(url));
  });

  it('meters one whose query names are written in lower case', async () => {
    const url = presigned('bedrock', ['x-amz-algorithm', 'x-amz-credential', 'x-amz-signature']);
    expect(await throughPlugin(url, post(converseRequest()))).toEqual(metered25(url));
  });

  it('hands on headers given through getters as the meter read them (a signature that appeared on fetch’s read only went out unmetered)', async () => {
    let reads = 0;
    const headers = { 'content-type': 'application/json' } as Record<string, string>;
    Object.defineProperty(headers, 'authorization', { enumerable: true, get: () => (++reads === 1 ? 'Bearer none' : sigV4()) });
    const url = bedrockUrl(NOVA, 'converse', PROXY);
    const { finops, records } = totalBudget();
    const net = network();
    const authorizations: (string | null)[] = [];
    const base = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      authorizations.push(new Request(input, init).headers.get('authorization'));
      return net.fetch(input, init);
    };
    await (await finops.wrapFetch(base)(url, { ...post(converseRequest()), headers })).text();
    // Before: the meter read a Bearer token (no Bedrock call on a host that is not AWS), fetch read a SigV4 header for
    // bedrock: a signed call went out unmetered. Now the base fetch gets the headers the meter read (the Bearer token),
    // and nothing is recorded or charged for an unsigned request to a host that is not Bedrock's.
    expect(authorizations).toEqual(['Bearer none']);
    expect(records).toEqual([]);
    expect(await usedTokens(finops)).toBe(0);
    expect(reads).toBe(1);
  });

  // Guards the fix: another service's presigned URL, or a credential that only mentions bedrock, is no Bedrock call.
  it('leaves URLs presigned for s3, or with bedrock elsewhere than the scope’s service, unmetered', async () => {
    const others = [presigned('s3'), presigned('bedrock-agent'), `${bedrockUrl(NOVA, 'converse', PROXY)}?X-Amz-Credential=bedrock%2F20260101%2Fus-east-1%2Fs3%2Faws4_request`];
    for (const url of others) expect(await throughPlugin(url, post(converseRequest(), { authorization: sigV4('s3') }))).toEqual({ sent: [`POST ${url}`], recorded: [], charged: 0 });
  });
});

describe('fetch adversarial (5): a base fetch whose queue runs from the root async context', () => {
  it('meters a call once when the queue sends it through the instance’s fetch from the root (it was metered and charged twice)', async () => {
    const { finops, records } = totalBudget();
    const net = network();
    globalThis.fetch = net.fetch;
    const metered = finops.wrapFetch(rootQueue(() => finops.fetch));
    await (await metered(bedrockUrl(NOVA, 'converse'), converse())).text();
    expect(net.sent).toHaveLength(1);
    // Before: two records of 5 + 20 for one request, 50 charged. Now one record, 25 charged, the reservation released.
    expect(records.map((r) => [r.inputTokens, r.outputTokens])).toEqual([[5, 20]]);
    expect(await usedTokens(finops)).toBe(25);
    await expectNothingReserved(finops);
  });

  it('admits a call under a budget with room for one: its own request from the queue no longer reserves a second time', async () => {
    // Room for 100 tokens: one reservation of 60 fits, two do not.
    const { finops, records } = totalBudget({}, 100);
    const net = network();
    globalThis.fetch = net.fetch;
    const metered = finops.wrapFetch(rootQueue(() => finops.fetch));
    // Before: the queued request was refused (BudgetExceededError) by the call's own second reservation. Now sent once,
    // 25 charged, nothing left reserved.
    expect((await metered(bedrockUrl(NOVA, 'converse'), converse())).status).toBe(200);
    expect(net.sent).toHaveLength(1);
    expect(records.map((r) => [r.outcome, r.inputTokens + r.outputTokens])).toEqual([['success', 25]]);
    expect(await usedTokens(finops)).toBe(25);
    await expectNothingReserved(finops);
  });

  // Guards the fix: a caller that gives one init to many calls while one of them is out has each metered.
  it('meters each call that reuses one init object while another call with it is out', async () => {
    const { finops, records } = totalBudget();
    const net = network();
    let release: (() => void) | undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const slow = finops.wrapFetch(async (input, init) => {
      await held;
      return net.fetch(input, init);
    });
    const init = converse();
    const first = slow(bedrockUrl(NOVA, 'converse'), init);
    const second = await finops.wrapFetch(net.fetch)(bedrockUrl(NOVA, 'converse'), init);
    await second.text();
    release?.();
    await (await first).text();
    // Sent twice, recorded twice, charged 50.
    expect(net.sent).toHaveLength(2);
    expect(records.map((r) => r.inputTokens + r.outputTokens)).toEqual([25, 25]);
    expect(await usedTokens(finops)).toBe(50);
    await expectNothingReserved(finops);
  });
});

describe('fetch adversarial (5): a URL or Request that reads one way to the meter and another to fetch', () => {
  it('meters a URL subclass whose toString (what fetch sends to) is Bedrock, its href elsewhere', async () => {
    class Elsewhere extends URL {
      override toString(): string {
        return bedrockUrl(NOVA, 'converse');
      }
    }
    // Before: read as https://example.com/ and sent to Bedrock unmetered. Now 25 charged.
    expect(await throughPlugin(new Elsewhere('https://example.com/'), converse())).toEqual(metered25());
  });

  it('meters a Request subclass whose url getter says elsewhere (fetch sends to the Request’s own URL)', async () => {
    class Elsewhere extends Request {}
    Object.defineProperty(Elsewhere.prototype, 'url', { get: () => 'https://example.com/' });
    expect(await throughPlugin(new Elsewhere(bedrockUrl(NOVA, 'converse'), converse()))).toEqual(metered25());
  });

  it('meters a Request subclass whose method getter says GET', async () => {
    class Quiet extends Request {}
    Object.defineProperty(Quiet.prototype, 'method', { get: () => 'GET' });
    expect(await throughPlugin(new Quiet(bedrockUrl(NOVA, 'converse'), converse()))).toEqual(metered25());
  });
});

describe('fetch adversarial (5): an init with body null over a Request’s body', () => {
  it('estimates from the Request’s body, which fetch sends (it was estimated as a call without a body)', async () => {
    const inputs: unknown[] = [];
    const { finops, records } = totalBudget({ estimator: ({ input }) => (inputs.push(input), 10) }, 100);
    const net = network();
    const request = new Request(bedrockUrl(NOVA, 'converse'), converse());
    await (await finops.wrapFetch(net.fetch)(request, { body: null })).text();
    // Before: the estimator saw no messages and no max tokens (reserved the default output cap, refused under 100). Now
    // it sees the Request's body: 10 + 50 reserved, 5 + 20 recorded and charged.
    expect(inputs).toEqual([{ modelId: NOVA, ...(converseRequest() as object) }]);
    expect(records.map((r) => [r.inputTokens, r.outputTokens])).toEqual([[5, 20]]);
    expect(await usedTokens(finops)).toBe(25);
    await expectNothingReserved(finops);
  });
});

describe('fetch adversarial (5): bodies fetch reads otherwise than their methods say', () => {
  /** A body fetch sends as the text its toString gives. */
  const textBody = (text: string) => ({ toString: () => text }) as unknown as NonNullable<RequestInit['body']>;

  it('meters a same-model call made inside the base fetch whose body is an object fetch sends as text (it passed as the outer call’s own)', async () => {
    const { finops, records } = totalBudget();
    const net = network();
    let asked = false;
    const moderating = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      if (!asked) {
        asked = true;
        const body = textBody(JSON.stringify(converseRequest('is this safe to send?')));
        await (await finops.fetch(bedrockUrl(NOVA, 'converse'), { method: 'POST', headers: { authorization: 'Bearer key' }, body })).text();
      }
      return net.fetch(input, init);
    };
    globalThis.fetch = net.fetch;
    await (await finops.wrapFetch(moderating)(bedrockUrl(NOVA, 'converse'), converse())).text();
    expect(net.sent).toHaveLength(2);
    // Before: the inner body could not be read, so the inner call was taken for the outer one's own and passed on
    // unmetered: one record, 25 charged for two calls. Now the inner ('is this safe to send?': 6 + 3 input, 20 output)
    // is recorded and charged too: 29 + 25 = 54.
    expect(records.map((r) => [r.inputTokens, r.outputTokens])).toEqual([
      [9, 20],
      [5, 20],
    ]);
    expect(await usedTokens(finops)).toBe(54);
    await expectNothingReserved(finops);
  });

  it('estimates from an object body fetch sends as text (the estimator was given no messages)', async () => {
    const inputs: unknown[] = [];
    const { finops, records } = totalBudget({ estimator: ({ input }) => (inputs.push(input), 10) });
    const net = network();
    await (await finops.wrapFetch(net.fetch)(bedrockUrl(NOVA, 'converse'), { ...converse(), body: textBody(JSON.stringify(converseRequest())) })).text();
    // Before: estimated without the body. Now the estimator sees the messages; 5 + 20 recorded and charged.
    expect(inputs).toEqual([{ modelId: NOVA, ...(converseRequest() as object) }]);
    expect(records.map((r) => [r.inputTokens, r.outputTokens])).toEqual([[5, 20]]);
    expect(await usedTokens(finops)).toBe(25);
    await expectNothingReserved(finops);
  });

  it('reads a Blob subclass’s own bytes, as fetch sends them, when its arrayBuffer refuses (it was estimated without the body)', async () => {
    class Sealed extends Blob {
      override arrayBuffer(): Promise<ArrayBuffer> {
        return Promise.reject(new Error('sealed'));
      }
    }
    const inputs: unknown[] = [];
    const { finops, records } = totalBudget({ estimator: ({ input }) => (inputs.push(input), 10) });
    const net = network();
    await (await finops.wrapFetch(net.fetch)(bedrockUrl(NOVA, 'converse'), { ...converse(), body: new Sealed([JSON.stringify(converseRequest())]) })).text();
    expect(inputs).toEqual([{ modelId: NOVA, ...(converseRequest() as object) }]);
    expect(records.map((r) => [r.inputTokens, r.outputTokens])).toEqual([[5, 20]]);
    expect(await usedTokens(finops)).toBe(25);
    await expectNothingReserved(finops);
  });
});

describe('fetch adversarial (5): provisioned spill of a presigned call', () => {
  const ARN = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123def456';
  const FALLBACK = 'us.anthropic.claude-3-haiku-20240307-v1:0';

  it('hands the signer the fallback’s URL without the old presigned query, its names in lower case (it kept them and was not signed)', async () => {
    const engine = new SimulatorEngine({ outputTokens: 20, provisioned: { [ARN]: { model: 'anthropic.claude-3-haiku-20240307-v1:0', tokensPerMinute: 1 } } });
    const sim = simulatorFetch(engine);
    const sent: string[] = [];
    const base = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const request = new Request(input, init);
      sent.push(request.url);
      return sim(request);
    };
    const signed: string[] = [];
    const sign = (request: Request): Request => {
      signed.push(request.url);
      return request;
    };
    const { finops, records } = totalBudget({ provisioned: { [ARN]: { model: 'anthropic.claude-3-haiku-20240307-v1:0', fallback: FALLBACK } } });
    const query = `x-amz-algorithm=AWS4-HMAC-SHA256&x-amz-credential=AKIDTEST%2F20260101%2Fus-east-1%2Fbedrock%2Faws4_request&x-amz-signature=${'0'.repeat(64)}`;
    const response = await finops.wrapFetch(base, { sign })(`${bedrockUrl(ARN, 'converse')}?${query}`, post(converseRequest()));
    expect(response.status).toBe(200);
    await response.text();
    // Before: taken for unsigned (only X-Amz-Signature was looked for), re-addressed with the stale signature and never
    // given to the signer. Now the signer gets the fallback's URL with no x-amz- parameter left.
    expect(signed).toEqual([bedrockUrl(FALLBACK, 'converse')]);
    expect(sent).toHaveLength(2);
    // Recorded: one call served by the fallback (5 + 20). Charged: 25. Released: the reservation.
    expect(records.map((r) => [r.modelId, r.inputTokens, r.outputTokens])).toEqual([[FALLBACK, 5, 20]]);
    expect(await usedTokens(finops)).toBe(25);
    await expectNothingReserved(finops);
  });
});

describe('fetch adversarial (5): provisioned spill through a queue run from the root', () => {
  const ARN = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123def456';
  const FALLBACK = 'us.anthropic.claude-3-haiku-20240307-v1:0';

  it('meters a spilled call once when both its attempts go through the instance’s fetch from the root (each was metered again)', async () => {
    // The provisioned model has no room: its attempt is throttled (429) and the call spills to the on-demand fallback.
    const engine = new SimulatorEngine({ outputTokens: 20, provisioned: { [ARN]: { model: 'anthropic.claude-3-haiku-20240307-v1:0', tokensPerMinute: 1 } } });
    const sim = simulatorFetch(engine);
    const sent: string[] = [];
    globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const request = new Request(input, init);
      sent.push(decodeURIComponent(new URL(request.url).pathname.split('/')[2] ?? ''));
      return sim(request);
    };
    const { finops, records } = totalBudget({ provisioned: { [ARN]: { model: 'anthropic.claude-3-haiku-20240307-v1:0', fallback: FALLBACK } } });
    const response = await finops.wrapFetch(rootQueue(() => finops.fetch))(bedrockUrl(ARN, 'converse'), converse());
    expect(response.status).toBe(200);
    await response.text();
    expect(sent).toEqual([ARN, FALLBACK]);
    // Before: three records (the outer call, and each attempt again from the queue), 50 charged. Now one record, served
    // by the fallback (5 + 20), 25 charged, the reservation released.
    expect(records.map((r) => [r.modelId, r.inputTokens, r.outputTokens])).toEqual([[FALLBACK, 5, 20]]);
    expect(await usedTokens(finops)).toBe(25);
    await expectNothingReserved(finops);
  });
});
