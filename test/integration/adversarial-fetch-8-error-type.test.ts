import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps, type UsageRecord } from '../../src/index.js';
import { expectNothingReserved } from '../helpers/adversary.js';
import { ENDPOINT, json, makeClient, on, useMockBedrock } from '../helpers/bedrock.js';
import { bedrockUrl, converseRequest, fakeFetch, post, totalBudget, usedTokens } from '../helpers/fetch.js';

// An eighth adversarial pass on the fetch path: how an error answer's `x-amzn-errortype` is named. restJson1 (Bedrock
// Runtime's protocol) lets it carry a shape id with its namespace (`com.amazon.coral.service#ValidationException`),
// a `:`-suffix, or a list; the SDK reads every form (Smithy's `sanitizeErrorCode`). The fetch path cut only the
// `:`-suffix, so a namespaced name was not a name (recorded as 'Error' since error names must look like names) and a
// namespaced ThrottlingException neither counted as a throttle nor spilled a provisioned call to its fallback.

const NOVA = 'amazon.nova-micro-v1:0';
const HAIKU = 'anthropic.claude-3-haiku-20240307-v1:0';
const ARN = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123def456';
const FALLBACK = 'us.anthropic.claude-3-haiku-20240307-v1:0';
const server = useMockBedrock();

/** An error answer whose `x-amzn-errortype` is `type` as written. */
const errorAnswer = (status: number, type: string): HttpResponse<string> =>
  new HttpResponse(JSON.stringify({ message: 'no' }), { status, headers: { 'content-type': 'application/json', 'x-amzn-errortype': type, 'x-amzn-requestid': 'req-err' } });

const FORMS: readonly (readonly [string, string])[] = [
  ['com.amazon.coral.service#ValidationException', 'ValidationException'],
  ['aws.protocoltests.restjson#ValidationException:http://internal.amazon.com/coral/com.amazon.coral.validate/', 'ValidationException'],
  ['com.amazon.bedrock#AccessDeniedException', 'AccessDeniedException'],
  ['ValidationException, ThrottlingException', 'ValidationException'],
];
// What Bedrock sends today (a guard: named so before too).
const PLAIN = 'ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/';

describe('fetch adversarial (8): an error type is named as the SDK names it', () => {
  it.each([...FORMS, [PLAIN, 'ValidationException'] as const])('records %s as the SDK path does (%s; before: Error, except the plain form)', async (type, name) => {
    server.use(on('converse', () => errorAnswer(400, type)));
    const records: UsageRecord[] = [];
    const finops = bedrockFinOps({ onUsage: (r) => records.push(r) });
    const sdkError = await makeClient(finops, { maxAttempts: 1 })
      .send(new ConverseCommand({ modelId: NOVA, messages: [{ role: 'user', content: [{ text: 'hello' }] }] }))
      .then(
        () => new Error('answered'),
        (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
      );
    const response = await finops.fetch(bedrockUrl(NOVA, 'converse'), post(converseRequest()));
    // The caller gets the answer as it came (metering names it, it does not change it).
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe(type);
    expect(sdkError.name).toBe(name);
    // Recorded: the SDK call and the fetch call, each a failed Converse named alike (before: the fetch one 'Error').
    expect(records.map((r) => [r.operation, r.outcome, r.error])).toEqual([
      ['Converse', 'error', name],
      ['Converse', 'error', name],
    ]);
  });

  it('spills a provisioned call answered with a namespaced ThrottlingException to its fallback (before: the caller got the 429, nothing spilled)', async () => {
    const base = fakeFetch((input) =>
      String(input instanceof Request ? input.url : input).includes(encodeURIComponent(ARN))
        ? errorAnswer(429, 'com.amazon.bedrock#ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/')
        : json({ output: { message: { role: 'assistant', content: [{ text: 'ok' }] } }, stopReason: 'end_turn', usage: { inputTokens: 700, outputTokens: 50, totalTokens: 750 } }),
    );
    const { finops, records } = totalBudget({ provisioned: { [ARN]: { model: HAIKU, fallback: FALLBACK } } });
    const response = await finops.wrapFetch(base.fetch)(bedrockUrl(ARN, 'converse', ENDPOINT), post(converseRequest(), { authorization: 'Bearer key' }));
    expect(response.status).toBe(200);
    expect(base.calls).toHaveLength(2);
    expect((base.calls[1]?.input as Request).url).toBe(bedrockUrl(FALLBACK, 'converse'));
    // Recorded: one call served by the fallback for ThrottlingException. Charged: its 750 tokens; nothing left reserved.
    // Before: one call recorded as an 'Error' of the provisioned model, 0 charged, the caller given the 429.
    expect(records.map((r) => [r.requestedModelId, r.modelId, r.fallback?.reason, r.outcome])).toEqual([[ARN, FALLBACK, 'ThrottlingException', 'success']]);
    expect(await usedTokens(finops)).toBe(750);
    await expectNothingReserved(finops);
  });

  it('names an error answer whose type holds no name by its status, as one without the header (before: "#" and ", ValidationException" were recorded as Error)', async () => {
    const records: UsageRecord[] = [];
    const finops = bedrockFinOps({ onUsage: (r) => records.push(r) });
    for (const type of ['', '#', ':http://x', ', ValidationException']) {
      const base = fakeFetch(() => errorAnswer(502, type));
      await (await finops.wrapFetch(base.fetch)(bedrockUrl(NOVA, 'converse'), post(converseRequest()))).text();
    }
    expect(records.map((r) => r.error)).toEqual(['502', '502', '502', '502']);
  });
});
