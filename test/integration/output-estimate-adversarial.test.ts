/**
 * A Converse answer whose output count says 0 (a lying proxy writing 0 where it could strip the
 * field), or whose output sits in blocks the estimate did not read (citations, redacted
 * reasoning), was charged 0 output. Each test says what was charged.
 */
import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps, type UsageRecord } from '../../src/index.js';
import { json, makeClient, on, say, useMockBedrock } from '../helpers/bedrock.js';

const server = useMockBedrock();
const HAIKU = 'us.anthropic.claude-3-5-haiku-20241022-v1:0';
const TEXT = 'word '.repeat(2_000); // 10,000 characters: ~2,500 tokens by the heuristic

function answer(content: unknown[], usage: Record<string, unknown>, stopReason = 'end_turn') {
  server.use(on('converse', () => json({ output: { message: { role: 'assistant', content } }, stopReason, usage, metrics: { latencyMs: 1 } })));
}

async function charged(): Promise<UsageRecord> {
  const records: UsageRecord[] = [];
  const finops = bedrockFinOps({ estimator: () => 10, budgets: [{ name: 'b', limit: { tokens: 1e9 }, window: 'day' }], onUsage: (r) => records.push(r) });
  await makeClient(finops).send(new ConverseCommand(say('hi', HAIKU)));
  const [status] = await finops.budgets.status();
  expect(status?.reserved.tokens).toBe(0);
  expect(records).toHaveLength(1);
  return records[0]!;
}

describe('Converse output a proxy hid', () => {
  it('outputTokens 0 beside 10,000 characters of text: charged what the text shows, usageSource estimate', async () => {
    answer([{ text: TEXT }], { inputTokens: 10, outputTokens: 0, totalTokens: 10 });
    const r = await charged();
    // Before: usageSource 'usage', 0 output tokens charged.
    expect(r.usageSource).toBe('estimate');
    expect(r.outputTokens).toBeGreaterThan(2_000);
    expect(r.outputTokens).toBeLessThan(4_000);
    expect(r.inputTokens).toBe(10);
  });

  it('a guardrail that intervened (0 output, its own message): 0 output as reported', async () => {
    answer([{ text: 'Sorry, the model cannot answer this question.' }], { inputTokens: 10, outputTokens: 0, totalTokens: 10 }, 'guardrail_intervened');
    const r = await charged();
    expect([r.usageSource, r.inputTokens, r.outputTokens]).toEqual(['usage', 10, 0]);
  });

  it('output count stripped, the answer in a citations block: charged the cited text', async () => {
    answer([{ citationsContent: { content: [{ text: TEXT }], citations: [] } }], { inputTokens: 10, totalTokens: 10 });
    const r = await charged();
    // Before: 0 output tokens (citations content not read).
    expect(r.usageSource).toBe('estimate');
    expect(r.outputTokens).toBeGreaterThan(2_000);
  });

  it('output count stripped, the answer mostly redacted reasoning: charged its bytes', async () => {
    answer([{ reasoningContent: { redactedContent: Buffer.from('x'.repeat(10_000)).toString('base64') } }, { text: 'ok' }], { inputTokens: 10, totalTokens: 10 });
    const r = await charged();
    // Before: 1 output token (the 'ok').
    expect(r.usageSource).toBe('estimate');
    expect(r.outputTokens).toBeGreaterThan(2_000);
  });
});
