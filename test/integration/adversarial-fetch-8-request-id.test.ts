import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps, type UsageRecord } from '../../src/index.js';
import { makeClient, on, useMockBedrock } from '../helpers/bedrock.js';
import { bedrockUrl, converseRequest, post } from '../helpers/fetch.js';

// A request id is believed only when it can be one: a proxy that echoes the prompt in x-amzn-requestid (the README
// says such a field is not recorded) put it in every record, ledger line and OTLP log, through the SDK and fetch alike.

const NOVA = 'amazon.nova-micro-v1:0';
const PROMPT = 'PLEASE SUMMARISE MY SECRET MERGER MEMO';
const server = useMockBedrock();

const answer = (requestId: string): HttpResponse<string> =>
  new HttpResponse(JSON.stringify({ output: { message: { role: 'assistant', content: [{ text: 'ok' }] } }, stopReason: 'end_turn', usage: { inputTokens: 7, outputTokens: 3, totalTokens: 10 } }), {
    headers: { 'content-type': 'application/json', 'x-amzn-requestid': requestId },
  });

describe('fetch adversarial (8): a request id that is a sentence', () => {
  it('is not recorded, through the SDK and through fetch; a real one is (before: the prompt was the record’s requestId)', async () => {
    const ids = [PROMPT, '0f5e6a1c-3b1d-4c1e-9d2a-7f1e2d3c4b5a'];
    let i = 0;
    server.use(on('converse', () => answer(ids[i++ % 2] ?? '')));
    const records: UsageRecord[] = [];
    const finops = bedrockFinOps({ onUsage: (r) => records.push(r) });
    const client = makeClient(finops, { maxAttempts: 1 });
    for (let n = 0; n < 2; n++) await client.send(new ConverseCommand({ modelId: NOVA, messages: [{ role: 'user', content: [{ text: 'hello' }] }] }));
    for (let n = 0; n < 2; n++) await (await finops.fetch(bedrockUrl(NOVA, 'converse'), post(converseRequest()))).text();
    // Recorded: 4 calls of 7 + 3 tokens each; the echoed prompt is no request id (before: [PROMPT, id, PROMPT, id]).
    expect(records.map((r) => [r.inputTokens, r.outputTokens, r.requestId])).toEqual([
      [7, 3, undefined],
      [7, 3, ids[1]],
      [7, 3, undefined],
      [7, 3, ids[1]],
    ]);
    expect(JSON.stringify(records)).not.toContain(PROMPT);
  });
});
