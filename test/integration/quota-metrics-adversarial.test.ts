import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps, type BedrockFinOpsOptions } from '../../src/index.js';
import type { QuotaRule } from '../../src/quotas/index.js';
import { MemoryQuotaStore, type QuotaStore } from '../../src/quotas/index.js';
import { awsError, converseReply, makeClient, on, recorder, tick, useMockBedrock } from '../helpers/bedrock.js';

/**
 * Quotas and metrics as a hostile or careless user meets them, through a real client (msw over
 * HTTP/1.1). Each test says what is held, charged and released, and what is recorded.
 */
const MODEL = 'amazon.nova-micro-v1:0';
const server = useMockBedrock();

/** Model ids that reached Bedrock, in order. */
function answering(usage: { inputTokens: number; outputTokens: number }): string[] {
  const sent: string[] = [];
  server.use(
    on('converse', ({ params }) => {
      sent.push(decodeURIComponent(params.modelId));
      return converseReply(usage);
    }),
  );
  return sent;
}

function plugin(quotas: QuotaRule[], more: Partial<BedrockFinOpsOptions> = {}) {
  const { records, onUsage } = recorder();
  const finops = bedrockFinOps({ quotas, onUsage, ...more });
  const client = makeClient(finops, { maxAttempts: 1 });
  const inUse = (name: string) => finops.quotas.status().find((s) => s.quota === name)?.inUse;
  const waiting = (name: string) => finops.quotas.status().find((s) => s.quota === name)?.waiting;
  return { finops, client, records, inUse, waiting };
}

const converse = (maxTokens = 100, modelId = MODEL) => new ConverseCommand({ modelId, messages: [{ role: 'user', content: [{ text: 'hello' }] }], inferenceConfig: { maxTokens } });

describe('quota waits that end early', () => {
  it('a call aborted while it waits for its second quota gives back the hold it already had on the first', async () => {
    const sent = answering({ inputTokens: 40, outputTokens: 100 });
    const wide: QuotaRule = { name: 'wide', match: { model: 'amazon.nova*' }, tokensPerMinute: 100_000, onLimit: 'wait' };
    const narrow: QuotaRule = { name: 'narrow', match: { model: 'amazon.nova*' }, tokensPerMinute: 150, onLimit: 'wait', maxWaitMs: 60_000 };
    const { client, records, inUse, waiting } = plugin([wide, narrow]);
    // The first call is charged 140 on both quotas (input 40 + output 100, burndown 1).
    await client.send(converse());
    expect(inUse('wide')).toEqual({ tokens: 140, requests: 1 });
    expect(inUse('narrow')).toEqual({ tokens: 140, requests: 1 });
    // The second holds its need (input estimate + 100) on `wide`, then waits on `narrow` (140 + need > 150).
    const controller = new AbortController();
    const second = client.send(converse(), { abortSignal: controller.signal });
    await tick(20);
    expect(waiting('narrow')).toBe(1);
    expect(inUse('wide')?.tokens).toBeGreaterThan(140 + 100);
    controller.abort();
    await expect(second).rejects.toMatchObject({ name: 'AbortError' });
    // Released: the hold on `wide` (it was held for 15 minutes before); charged: nothing more; sent and recorded: the first call only.
    expect(waiting('narrow')).toBe(0);
    expect(inUse('wide')).toEqual({ tokens: 140, requests: 2 });
    expect(inUse('narrow')).toEqual({ tokens: 140, requests: 1 });
    expect(sent).toEqual([MODEL]);
    expect(records).toHaveLength(1);
  });
});

/** The in-memory store, but its `throttled` and `settle` fail as a broken backend's would. */
class BrokenStore extends MemoryQuotaStore implements QuotaStore {
  override settle(): void {
    throw new Error('store down (settle)');
  }
  throttled(): void {
    throw new Error('store down (throttled)');
  }
}

describe('a quota store that fails never changes what the caller sees', () => {
  it("a 429 reaches the caller as Bedrock's ThrottlingException when the store fails to hear of it, and a failed settle is not thrown", async () => {
    server.use(on('converse', () => awsError(429, 'ThrottlingException', 'Too many tokens')));
    const { client, records } = plugin([{ name: 'q', match: { model: 'amazon.nova*' }, tokensPerMinute: 100_000, onLimit: 'reject' }], { quotaStore: new BrokenStore() });
    await expect(client.send(converse())).rejects.toMatchObject({ name: 'ThrottlingException' });
    // Recorded: the failed call, once.
    expect(records).toMatchObject([{ outcome: 'error', error: 'ThrottlingException' }]);
  });
});
