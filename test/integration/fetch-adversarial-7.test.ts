import { describe, expect, it } from 'vitest';
import { MemoryBudgetStore } from '../../src/budgets/memory-store.js';
import type { BudgetStore, CommitRequest, CommitResult, CounterRef, CounterState, ReserveRequest, ReserveResult } from '../../src/budgets/store.js';
import { BudgetExceededError, bedrockFinOps, isQuotaExceededError, type RequestSigner, type UsageRecord } from '../../src/index.js';
import { SimulatorEngine } from '../../src/testing/index.js';
import { awsError, json } from '../helpers/bedrock.js';
import { bedrockUrl, converseRequest, fakeFetch, post, restoreGlobalFetch, sigV4a, METERED, NOTHING, outcome, totalBudget, until } from '../helpers/fetch.js';
import { GOVERNOR_NEED, MAX_TOKENS, PROMPT, quotaClient, quotaSimulator, simulatorFetch, SONNET } from '../helpers/quota-burst.js';

// A seventh adversarial pass on the fetch path: each test fails on the code before its fix, except those that say they
// guard one. The network is the simulator: a Converse of `converseRequest()` ('hello', max 50) is 5 input + 20 output
// tokens; the plugin estimates 10 input tokens and reserves 10 + 50 = 60 before it sends.

const NOVA = 'us.amazon.nova-lite-v1:0';
// A host that is no AWS Bedrock Runtime endpoint (a proxy, a VPC endpoint's alias): only the signature says Bedrock.
const PROXY = 'https://bedrock.vpce-alias.internal';
restoreGlobalFetch();

/** The simulator as the network: every (input, init) a base fetch was handed, and the request each made. */
function network() {
  const sim = simulatorFetch(new SimulatorEngine({ outputTokens: 20 }));
  const given: { input: string | URL | Request; init: RequestInit | undefined }[] = [];
  const requests: Request[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    given.push({ input, init });
    const request = new Request(input, init);
    requests.push(request.clone());
    return sim(request);
  };
  return { fetch, given, requests };
}


/** A Converse POST to the proxy, SigV4a-signed for `service` (the regions it is valid in in `X-Amz-Region-Set`). */
const signedA = (service = 'bedrock'): RequestInit => post(converseRequest(), { authorization: sigV4a(service), 'x-amz-region-set': 'us-east-1,us-west-2', 'x-amz-date': '20260101T000000Z' });

/** A presigned SigV4a URL to the proxy: `X-Amz-Credential=KEY/DATE/SERVICE/aws4_request`, no region in the scope. */
const presignedA = (service: string): string =>
  `${bedrockUrl(NOVA, 'converse', PROXY)}?X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256&X-Amz-Credential=AKIDTEST%2F20260101%2F${service}%2Faws4_request&X-Amz-Region-Set=us-east-1&X-Amz-Date=20260101T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=${'0'.repeat(140)}`;

describe('fetch adversarial (7): SigV4a-signed requests to a host that is no AWS endpoint', () => {
  it('meters a call SigV4a-signed for bedrock in its Authorization header (it was sent unmetered)', async () => {
    const setup = totalBudget();
    const net = network();
    await (await setup.finops.wrapFetch(net.fetch)(bedrockUrl(NOVA, 'converse', PROXY), signedA())).text();
    // Before: no record, nothing charged (a budget bypassed). Now 5 + 20 recorded, 25 charged, the 60 reserved released.
    expect(net.given).toHaveLength(1);
    expect(await outcome(setup)).toEqual(METERED);
  });

  it('refuses a SigV4a-signed call beyond its budget before anything is sent', async () => {
    // Room for 50 tokens; the call needs 10 + 50 = 60.
    const setup = totalBudget({}, 50);
    const net = network();
    await expect(setup.finops.wrapFetch(net.fetch)(bedrockUrl(NOVA, 'converse', PROXY), signedA())).rejects.toBeInstanceOf(BudgetExceededError);
    // Before: sent past the budget, unmetered. Now nothing reaches the network, nothing is charged or left reserved.
    expect(net.given).toHaveLength(0);
    expect(await outcome(setup)).toEqual(NOTHING);
  });

  it('meters a SigV4 or SigV4a header whose algorithm is written in lower case (a presigned one was already)', async () => {
    for (const authorization of [sigV4a().replace('AWS4-ECDSA-P256-SHA256', 'aws4-ecdsa-p256-sha256'), sigV4a('us-east-1/bedrock').replace('AWS4-ECDSA-P256-SHA256', 'aws4-hmac-sha256')]) {
      const setup = totalBudget();
      const net = network();
      await (await setup.finops.wrapFetch(net.fetch)(bedrockUrl(NOVA, 'converse', PROXY), post(converseRequest(), { authorization }))).text();
      // Before: unmetered. Now 5 + 20 recorded, 25 charged.
      expect(await outcome(setup)).toEqual(METERED);
    }
  });

  it('meters a presigned SigV4a URL scoped to bedrock', async () => {
    const setup = totalBudget();
    const net = network();
    await (await setup.finops.wrapFetch(net.fetch)(presignedA('bedrock'), post(converseRequest()))).text();
    // Before: unmetered. Now 5 + 20 recorded, 25 charged.
    expect(await outcome(setup)).toEqual(METERED);
  });

  // Guards the fix: SigV4a for another service is no Bedrock call.
  it('hands a request SigV4a-signed for s3 (header or presigned) to the base fetch untouched: no record, no cost', async () => {
    const setup = totalBudget();
    const net = network();
    const metered = setup.finops.wrapFetch(net.fetch);
    const header = signedA('s3');
    await (await metered(bedrockUrl(NOVA, 'converse', PROXY), header)).text();
    const query = post(converseRequest());
    await (await metered(presignedA('s3'), query)).text();
    // A scope with a region under the SigV4a algorithm is read for its service too: s3, no Bedrock call.
    const v4 = post(converseRequest(), { authorization: sigV4a('us-east-1/s3') });
    await (await metered(bedrockUrl(NOVA, 'converse', PROXY), v4)).text();
    expect(net.given).toEqual([
      { input: bedrockUrl(NOVA, 'converse', PROXY), init: header },
      { input: presignedA('s3'), init: query },
      { input: bedrockUrl(NOVA, 'converse', PROXY), init: v4 },
    ]);
    // The very same init objects, not copies.
    expect(net.given.map((g, i) => g.init === [header, query, v4][i])).toEqual([true, true, true]);
    expect(await outcome(setup)).toEqual(NOTHING);
  });
});

describe('fetch adversarial (7): provisioned spill of a SigV4a-signed call', () => {
  const ARN = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123def456';
  const FALLBACK = 'us.anthropic.claude-3-haiku-20240307-v1:0';
  const reply = () => json({ output: { message: { role: 'assistant', content: [{ text: 'ok' }] } }, stopReason: 'end_turn', usage: { inputTokens: 700, outputTokens: 50, totalTokens: 750 } });

  /** The provisioned model throttles, its fallback answers; every request is kept. */
  function provisioned() {
    const base = fakeFetch((input) => ((input instanceof Request ? input.url : String(input)).includes(encodeURIComponent(ARN)) ? awsError(429, 'ThrottlingException') : reply()));
    const models = () => base.calls.map((c) => decodeURIComponent(new URL(c.input instanceof Request ? c.input.url : String(c.input)).pathname.split('/')[2] ?? ''));
    return { ...base, models };
  }

  function setup() {
    const records: UsageRecord[] = [];
    const finops = bedrockFinOps({ provisioned: { [ARN]: { model: 'anthropic.claude-3-haiku-20240307-v1:0', fallback: FALLBACK, modelUnits: 2 } }, onUsage: (r) => records.push(r) });
    return { finops, records };
  }

  // On an AWS host (recognised by its host before the fix too): what the spill did with its signature.
  it('does not re-address a SigV4a-signed call it cannot sign again: the caller gets the 429, nothing is sent with a stale signature', async () => {
    const net = provisioned();
    const { finops, records } = setup();
    const response = await finops.wrapFetch(net.fetch)(bedrockUrl(ARN, 'converse'), signedA());
    // Before: taken for unsigned, re-sent to the fallback carrying the old SigV4a Authorization (a signature over another
    // URL, which Bedrock refuses). Now sent once, the 429 answered, recorded as the provisioned model's error.
    expect(response.status).toBe(429);
    expect(net.models()).toEqual([ARN]);
    expect(records.map((r) => [r.modelId, r.outcome, r.error, r.fallback])).toEqual([[ARN, 'error', 'ThrottlingException', undefined]]);
  });

  it('hands the signer the re-addressed request without its old signature or region set', async () => {
    const net = provisioned();
    const { finops, records } = setup();
    const seen: [string, string | null, string | null, string | null][] = [];
    const sign: RequestSigner = (request) => {
      seen.push([request.url, request.headers.get('authorization'), request.headers.get('x-amz-region-set'), request.headers.get('x-amz-date')]);
      const headers = new Headers(request.headers);
      headers.set('authorization', sigV4a());
      headers.set('x-amz-region-set', 'us-east-1');
      return new Request(request, { headers });
    };
    const response = await finops.wrapFetch(net.fetch, { sign })(bedrockUrl(ARN, 'converse'), signedA());
    expect(response.status).toBe(200);
    // Before: the signer was never asked (the call was re-sent unsigned-as-it-thought, old signature and all).
    expect(seen).toEqual([[bedrockUrl(FALLBACK, 'converse'), null, null, null]]);
    expect(net.models()).toEqual([ARN, FALLBACK]);
    expect(records.map((r) => [r.modelId, r.fallback, r.inputTokens, r.outputTokens])).toEqual([[FALLBACK, { from: ARN, reason: 'ThrottlingException' }, 700, 50]]);
  });
});

describe('fetch adversarial (7): a quota fallback of a SigV4a-signed call', () => {
  it('refuses a SigV4a-signed call it cannot re-sign for the quota fallback, instead of sending it there with a stale signature', async () => {
    // Room for 10 calls a window (a minute: none rolls over while the test runs), on the in-region profile only.
    const fits = 10;
    const room = GOVERNOR_NEED * fits + GOVERNOR_NEED - 1;
    const engine = quotaSimulator(room, 60_000);
    const global = `global.${SONNET}`;
    const { finops, records } = quotaClient(engine, {
      quotas: [{ name: 'in-region', match: { model: 'anthropic.claude-sonnet-4*', inference: 'in-region' }, tokensPerMinute: room, windowMs: 60_000, onLimit: 'fallback', fallback: global }],
    });
    if (finops === undefined) throw new Error('no plugin');
    const metered = finops.wrapFetch(simulatorFetch(engine));
    const send = () => metered(bedrockUrl(SONNET, 'converse'), post(converseRequest(PROMPT, MAX_TOKENS), { authorization: sigV4a(), 'x-amz-region-set': '*', 'x-amz-date': '20260101T000000Z' }));
    const outcomes = await Promise.allSettled(Array.from({ length: 2 * fits }, send));
    await Promise.all(outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.arrayBuffer()] : [])));
    // Before: taken for unsigned, the 10 without room were re-addressed to the global profile with their old signature
    // (which Bedrock refuses; the simulator does not check). Now they are refused before sending, as SigV4 ones are:
    // 10 sent and recorded, 10 QuotaExceededError, nothing sent to the fallback.
    expect(outcomes.filter((o) => o.status === 'rejected' && isQuotaExceededError(o.reason))).toHaveLength(fits);
    expect(engine.stats.byModel.get(global)).toBeUndefined();
    expect(records.map((r) => r.modelId)).toEqual(Array.from({ length: fits }, () => SONNET));
  });
});

/** A budget store whose reservations wait until `admit()`: admission is held while the caller does what it likes. */
class HeldStore implements BudgetStore {
  reserving = 0;
  private readonly inner = new MemoryBudgetStore();
  private readonly gate: Promise<void>;
  private opened: () => void = () => undefined;

  constructor() {
    this.gate = new Promise((resolve) => (this.opened = resolve));
  }

  admit(): void {
    this.opened();
  }

  async reserve(request: ReserveRequest): Promise<ReserveResult> {
    this.reserving++;
    await this.gate;
    return this.inner.reserve(request);
  }

  commit(request: CommitRequest): CommitResult {
    return this.inner.commit(request);
  }

  read(counters: readonly CounterRef[], now: number): readonly CounterState[] {
    return this.inner.read(counters, now);
  }
}

describe('fetch adversarial (7): a Request’s headers changed while the call waits for admission', () => {
  const inits: [string, (() => RequestInit) | undefined][] = [
    ['fetch(request)', undefined],
    ['fetch(request, { signal })', () => ({ signal: new AbortController().signal })],
  ];

  for (const [form, init] of inits) {
    it(`sends the service tier admitted, not one set on the Request while a slow budget store holds admission: ${form}`, async () => {
      const store = new HeldStore();
      const setup = totalBudget({ budgetStore: store });
      const net = network();
      const request = new Request(bedrockUrl(NOVA, 'converse'), post(converseRequest(), { authorization: 'Bearer key', 'x-amzn-bedrock-service-tier': 'flex' }));
      const pending = setup.finops.wrapFetch(net.fetch)(request, init?.());
      await until(() => store.reserving === 1, 'admission to begin');
      // Reserved at flex; the caller moves the call to priority (and adds a header) before it is sent.
      request.headers.set('x-amzn-bedrock-service-tier', 'priority');
      request.headers.set('x-amzn-bedrock-performanceconfig-latency', 'optimized');
      store.admit();
      await (await pending).text();
      // Before: sent at priority, optimized latency, after a reservation and record at flex. Now sent as admitted: flex,
      // standard latency; the same Request, recorded at flex, 5 + 20, charged 25.
      expect(net.requests.map((r) => [r.headers.get('x-amzn-bedrock-service-tier'), r.headers.get('x-amzn-bedrock-performanceconfig-latency'), r.headers.get('authorization')])).toEqual([['flex', null, 'Bearer key']]);
      expect(net.given[0]?.input).toBe(request);
      expect(setup.records.map((r) => r.serviceTier)).toEqual(['flex']);
      expect(await outcome(setup)).toEqual(METERED);
    });
  }

  // Guards the fix: headers given in the init stand over the Request's, as fetch takes them (and were already copied).
  it('sends the init’s headers over a Request’s, as fetch does', async () => {
    const setup = totalBudget();
    const net = network();
    const request = new Request(bedrockUrl(NOVA, 'converse'), post(converseRequest(), { authorization: 'Bearer old', 'x-amzn-bedrock-service-tier': 'flex' }));
    await (await setup.finops.wrapFetch(net.fetch)(request, { headers: { authorization: 'Bearer key', 'content-type': 'application/json' } })).text();
    expect(net.requests.map((r) => [r.headers.get('authorization'), r.headers.get('x-amzn-bedrock-service-tier')])).toEqual([['Bearer key', null]]);
    expect(await outcome(setup)).toEqual(METERED);
  });
});

describe('fetch adversarial (7): many calls out at once, sent by a queue from the root', () => {
  // Guards the index of calls out by the objects they handed on (SendingScope.handedBy looked at every call out): the
  // same answers with 201 out at once.
  it('meters each of 200 queued calls once and another call made from the root as its own, all 201 out together', async () => {
    const calls = 200;
    const setup = totalBudget();
    const net = network();
    globalThis.fetch = net.fetch;
    const jobs: (() => Promise<unknown>)[] = [];
    let full: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (full = resolve));
    // The worker starts outside any call: each job runs in the root async context, sent through the instance's fetch with
    // the objects the call handed on. Once every call is queued (all out), a call of the worker's own goes out with them.
    const worker = (async () => {
      await ready;
      const own = setup.finops.fetch(bedrockUrl(NOVA, 'converse'), post(converseRequest(), { authorization: 'Bearer key' }));
      await Promise.all([...jobs.splice(0).map((job) => job()), own.then((r) => r.text())]);
    })();
    const queued = setup.finops.wrapFetch(
      (input, init) =>
        new Promise<Response>((resolve, reject) => {
          jobs.push(() => setup.finops.fetch(input, init).then(resolve, reject));
          if (jobs.length === calls) full();
        }),
    );
    const responses = Array.from({ length: calls }, () => queued(bedrockUrl(NOVA, 'converse'), post(converseRequest(), { authorization: 'Bearer key' })).then((r) => r.text()));
    await Promise.all([...responses, worker]);
    // Each queued call sent once and metered once (not again from the root); the worker's own call metered as its own:
    // 201 records of 5 + 20, 201 × 25 charged, nothing left reserved.
    expect(net.given).toHaveLength(calls + 1);
    expect(setup.records.map((r) => r.inputTokens + r.outputTokens)).toEqual(Array.from({ length: calls + 1 }, () => 25));
    expect(await outcome(setup)).toEqual({ recorded: Array.from({ length: calls + 1 }, () => ['Converse', 5, 20]), charged: (calls + 1) * 25 });
  });
});
