import { describe, expect, it } from 'vitest';
import { bedrockFinOps, type BedrockFinOps, type BedrockFinOpsOptions, type UsageRecord } from '../../src/index.js';
import { expectNothingReserved } from '../helpers/adversary.js';
import { json } from '../helpers/bedrock.js';
import { bedrockUrl, fakeFetch, post } from '../helpers/fetch.js';

// A third adversarial pass on the fetch path: each test fails on the code before its fix, except those that say
// they guard one.

const HAIKU = 'anthropic.claude-3-haiku-20240307-v1:0';

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
