/**
 * The fetch path charges what the SDK path charges when a response's output count is not
 * believed or missing: the request's cap, else an estimate from the output returned. Never 0
 * (a lying or stripping proxy in front of Bedrock would make output free).
 */
import { describe, expect, it } from 'vitest';
import { bedrockFinOps, type UsageRecord } from '../../src/index.js';
import { json } from '../helpers/bedrock.js';
import { bedrockUrl, fakeFetch, post } from '../helpers/fetch.js';

const HAIKU = 'anthropic.claude-3-haiku-20240307-v1:0';

function setup(answer: () => Response) {
  const records: UsageRecord[] = [];
  const finops = bedrockFinOps({ estimator: () => 10, budgets: [{ name: 'total', limit: { tokens: 1e9 }, window: 'total' }], onUsage: (r) => records.push(r) });
  const metered = finops.wrapFetch(fakeFetch(answer).fetch);
  const used = async () => (await finops.budgets.status())[0]?.used.tokens;
  return { metered, records, used };
}

const converse = (usage: Record<string, number> | undefined, text: string) =>
  json({ output: { message: { role: 'assistant', content: [{ text }] } }, stopReason: 'end_turn', ...(usage === undefined ? {} : { usage }) });
const noCap = { messages: [{ role: 'user', content: [{ text: 'hi' }] }] };

describe('fetch path: output counts not believed or missing', () => {
  it('Converse without a cap reporting 1e12 output: charged the text returned (700 characters → 200), not 0', async () => {
    const { metered, records, used } = setup(() => converse({ inputTokens: 30, outputTokens: 1e12, totalTokens: 1e12 + 30 }, 'x'.repeat(700)));
    await (await metered(bedrockUrl(HAIKU, 'converse'), post(noCap, { authorization: 'Bearer key' }))).json();
    // Before: outputTokens 0 (the fetch path handed the settlement no output to estimate from).
    expect(records[0]).toMatchObject({ usageSource: 'estimate', inputTokens: 30, outputTokens: 200 });
    expect(await used()).toBe(230);
  });

  it('Converse with usage stripped: the admission estimate (10) and the text returned (70 characters → 20)', async () => {
    const { metered, records, used } = setup(() => converse(undefined, 'y'.repeat(70)));
    await (await metered(bedrockUrl(HAIKU, 'converse'), post(noCap, { authorization: 'Bearer key' }))).json();
    expect(records[0]).toMatchObject({ usageSource: 'estimate', inputTokens: 10, outputTokens: 20 });
    expect(await used()).toBe(30);
  });

  it('InvokeModel without a cap whose headers report 1e12 output: charged the body returned (350 bytes → 100)', async () => {
    const body = JSON.stringify({ c: 'z'.repeat(350 - 8) });
    const { metered, records } = setup(
      () => new Response(body, { status: 200, headers: { 'content-type': 'application/json', 'x-amzn-bedrock-input-token-count': '40', 'x-amzn-bedrock-output-token-count': '1000000000000' } }),
    );
    await (await metered(bedrockUrl(HAIKU, 'invoke'), post({ anthropic_version: 'bedrock-2023-05-31', messages: [] }, { authorization: 'Bearer key' }))).arrayBuffer();
    expect(body).toHaveLength(350);
    expect(records[0]).toMatchObject({ usageSource: 'estimate', inputTokens: 40, outputTokens: 100 });
  });
});
