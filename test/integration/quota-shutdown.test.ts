import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps, isQuotaExceededError } from '../../src/index.js';
import type { QuotaRule } from '../../src/quotas/index.js';
import { converseReply, makeClient, on, recorder, tick, useMockBedrock } from '../helpers/bedrock.js';

/**
 * `finops.shutdown()` with a call waiting for quota room: the waiting call is refused at once
 * (nothing sent, its budget reservation released), instead of holding the process open for up to
 * `maxWaitMs` and then being sent after shutdown.
 */
const MODEL = 'amazon.nova-micro-v1:0';
const server = useMockBedrock();

describe('shutdown with calls waiting for quota room', () => {
  it('refuses the waiting call at once (wait-timeout): nothing sent, its budget reservation released, shutdown does not wait for maxWaitMs', async () => {
    let sent = 0;
    server.use(
      on('converse', () => {
        sent++;
        return converseReply({ inputTokens: 40, outputTokens: 100 });
      }),
    );
    const quota: QuotaRule = { name: 'q', match: { model: 'amazon.nova*' }, tokensPerMinute: 150, onLimit: 'wait', maxWaitMs: 60_000 };
    const { records, onUsage } = recorder();
    const finops = bedrockFinOps({ quotas: [quota], budgets: [{ name: 'b', limit: { tokens: 1e6 }, window: 'day' }], estimator: () => 40, onUsage });
    const client = makeClient(finops, { maxAttempts: 1 });
    const converse = () => new ConverseCommand({ modelId: MODEL, messages: [{ role: 'user', content: [{ text: 'hello' }] }], inferenceConfig: { maxTokens: 100 } });
    await client.send(converse());
    const waiting = client.send(converse()).then(
      () => 'sent',
      (e: unknown) => e,
    );
    await tick(20);
    expect(finops.quotas.status()[0]?.waiting).toBe(1);
    const [before] = await finops.budgets.status();
    expect(before?.reserved.tokens).toBe(140);
    let shutDown = false;
    const closing = finops.shutdown().then(() => (shutDown = true));
    // Before: shutdown() waited out the 60 s wait (the test timed out) and the call was then sent.
    const outcome = await waiting;
    expect(isQuotaExceededError(outcome)).toBe(true);
    expect(outcome).toMatchObject({ reason: 'wait-timeout' });
    await closing;
    expect(shutDown).toBe(true);
    // Sent: the first call only. Charged: 140 tokens. Released: the waiting call's 140 reserved.
    expect(sent).toBe(1);
    const [after] = await finops.budgets.status();
    expect(after).toMatchObject({ used: { tokens: 140 }, reserved: { tokens: 0 } });
    expect(records.filter((r) => r.outcome === 'success')).toHaveLength(1);
  });
});
