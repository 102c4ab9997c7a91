import { ConverseCommand, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { describe, expect, it } from 'vitest';
import { isQuotaExceededError, withAttribution } from '../../src/index.js';
import type { QuotaRule } from '../../src/quotas/index.js';
import { bedrockUrl, converseRequest, post, sigV4 } from '../helpers/fetch.js';
import { burst, burstCall, GOVERNOR_NEED, MAX_TOKENS, PROMPT, quotaClient, quotaSimulator, simulatorFetch, sleep, SONNET } from '../helpers/quota-burst.js';

const WINDOW_MS = 1_000;
const FITS = 10;
const QUOTA = GOVERNOR_NEED * FITS + GOVERNOR_NEED - 1;
const GLOBAL = `global.${SONNET}`;
const quota = (more: Partial<QuotaRule> = {}): QuotaRule => ({ name: 'sonnet', match: { model: 'anthropic.claude-sonnet-4*' }, tokensPerMinute: QUOTA, windowMs: WINDOW_MS, onLimit: 'reject', ...more });

describe('quota admission in the call path', () => {
  it('releases the budget reservation exactly when a quota refuses a call the budgets admitted: reserved goes back to 0, used is only what was served', async () => {
    const engine = quotaSimulator(QUOTA, WINDOW_MS);
    const { client, finops, records } = quotaClient(engine, { budgets: [{ name: 'daily', limit: { tokens: 10_000_000 }, window: 'day' }], quotas: [quota()] });
    const r = await burst(2 * FITS, () => burstCall(client));
    expect(r).toMatchObject({ served: FITS, refused: FITS, throttled: 0, failed: 0 });
    // Refused calls were never sent: no record, nothing charged, their reservations released.
    expect(records).toHaveLength(FITS);
    const [daily] = (await finops?.budgets.status()) ?? [];
    expect(daily?.reserved.tokens).toBe(0);
    expect(daily?.used.tokens).toBe(records.reduce((s, x) => s + x.inputTokens + x.outputTokens, 0));
  });

  it("sends a call the in-region quota has no room for to its fallback (a global profile), recorded like provisioned spill, and refuses once the fallback's quota is full too", async () => {
    const engine = quotaSimulator(QUOTA, WINDOW_MS);
    const { client, records } = quotaClient(engine, {
      quotas: [quota({ name: 'in-region', match: { model: 'anthropic.claude-sonnet-4*', inference: 'in-region' }, onLimit: 'fallback', fallback: GLOBAL }), quota({ name: 'global', match: { model: 'anthropic.claude-sonnet-4*', inference: 'global' } })],
    });
    const r = await burst(3 * FITS, () => burstCall(client));
    expect(r).toMatchObject({ served: 2 * FITS, refused: FITS, throttled: 0, failed: 0 });
    expect(engine.stats.throttled).toBe(0);
    // The fallback's model id went on the wire; the record says where it came from and why.
    expect(engine.stats.byModel.get(GLOBAL)?.requests).toBe(FITS);
    expect(engine.stats.byModel.get(SONNET)?.requests).toBe(FITS);
    const moved = records.filter((x) => x.fallback !== undefined);
    expect(moved).toHaveLength(FITS);
    expect(moved[0]).toMatchObject({ requestedModelId: SONNET, modelId: GLOBAL, fallback: { from: SONNET, reason: 'quota' }, outcome: 'success' });
  });

  it('sends a fetch call to the fallback URL with the same body when the quota has no room', async () => {
    const engine = quotaSimulator(QUOTA, WINDOW_MS);
    const { finops, records } = quotaClient(engine, { quotas: [quota({ onLimit: 'fallback', fallback: GLOBAL, match: { model: 'anthropic.claude-sonnet-4*', inference: 'in-region' } })] });
    if (finops === undefined) throw new Error('no plugin');
    const fetch = finops.wrapFetch(simulatorFetch(engine));
    const send = () => withAttribution({ team: 'search' }, () => fetch(bedrockUrl(SONNET, 'converse'), post(converseRequest(PROMPT, MAX_TOKENS))));
    const responses = await Promise.all(Array.from({ length: 2 * FITS }, send));
    expect(responses.every((x) => x.status === 200)).toBe(true);
    await Promise.all(responses.map((x) => x.arrayBuffer()));
    expect(engine.stats.byModel.get(GLOBAL)?.requests).toBe(FITS);
    expect(records.filter((x) => x.modelId === GLOBAL && x.fallback?.reason === 'quota')).toHaveLength(FITS);
  });

  it('refuses a SigV4-signed fetch call it cannot re-sign for the fallback (no `sign` given), instead of sending it to the full quota', async () => {
    const engine = quotaSimulator(QUOTA, WINDOW_MS);
    const { finops, records } = quotaClient(engine, { quotas: [quota({ onLimit: 'fallback', fallback: GLOBAL })] });
    if (finops === undefined) throw new Error('no plugin');
    const fetch = finops.wrapFetch(simulatorFetch(engine));
    const send = () => fetch(bedrockUrl(SONNET, 'converse'), post(converseRequest(PROMPT, MAX_TOKENS), { authorization: sigV4(), 'x-amz-date': '20260101T000000Z' }));
    const outcomes = await Promise.allSettled(Array.from({ length: 2 * FITS }, send));
    const refused = outcomes.filter((o) => o.status === 'rejected' && isQuotaExceededError(o.reason));
    expect(refused).toHaveLength(FITS);
    // Sent: only what fit; nothing went to the fallback, nothing was throttled.
    expect(engine.stats.byModel.get(GLOBAL)).toBeUndefined();
    expect(engine.stats.throttled).toBe(0);
    await Promise.all(outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.arrayBuffer()] : [])));
    expect(records).toHaveLength(FITS);
  });

  it('stops waiting when the caller aborts: the call rejects with the abort, nothing is sent or recorded, the budget reservation is released', async () => {
    const engine = quotaSimulator(QUOTA, WINDOW_MS);
    const { client, finops, records } = quotaClient(engine, { budgets: [{ name: 'daily', limit: { tokens: 10_000_000 }, window: 'day' }], quotas: [quota({ onLimit: 'wait', maxWaitMs: 60_000 })] });
    // Fills the quota (charges are a little below holds, so one more fits once the first settle).
    await burst(FITS + 1, () => burstCall(client));
    const controller = new AbortController();
    const waiting = withAttribution({ team: 'search' }, () =>
      client.send(new ConverseCommand({ modelId: SONNET, messages: [{ role: 'user', content: [{ text: PROMPT }] }], inferenceConfig: { maxTokens: MAX_TOKENS } }), { abortSignal: controller.signal }),
    );
    await sleep(50);
    expect(finops?.quotas.status()[0]?.waiting).toBe(1);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    expect(finops?.quotas.status()[0]?.waiting).toBe(0);
    expect(engine.stats.requests).toBe(FITS + 1);
    expect(records).toHaveLength(FITS + 1);
    expect((await finops?.budgets.status())?.[0]?.reserved.tokens).toBe(0);
  });

  it('holds a stream until it ends, then charges input + output × burndown and releases the rest', async () => {
    const engine = quotaSimulator(QUOTA, WINDOW_MS, { outputTokens: 40 });
    const { client, finops, records } = quotaClient(engine, { quotas: [quota()] });
    const out = await withAttribution({ team: 'search' }, () => client.send(new ConverseStreamCommand({ modelId: SONNET, messages: [{ role: 'user', content: [{ text: PROMPT }] }], inferenceConfig: { maxTokens: MAX_TOKENS } })));
    expect(finops?.quotas.status()[0]?.inUse.tokens).toBe(GOVERNOR_NEED);
    let events = 0;
    for await (const _ of out.stream ?? []) events++;
    expect(events).toBeGreaterThan(0);
    await sleep(0);
    const [record] = records;
    expect(record).toMatchObject({ outputTokens: 40, maxTokens: MAX_TOKENS });
    // Charged: the simulator's input count + 40 × 5; the rest of the hold (max tokens 200 × 5) released.
    expect(finops?.quotas.status()[0]?.inUse.tokens).toBe((record?.inputTokens ?? 0) + 40 * 5);
  });

  it('refuses at once a call that needs more than the whole quota, whatever onLimit says', async () => {
    const engine = quotaSimulator(QUOTA, WINDOW_MS);
    const { client } = quotaClient(engine, { quotas: [quota({ tokensPerMinute: GOVERNOR_NEED - 1, onLimit: 'wait' })] });
    const error: unknown = await burstCall(client).catch((e: unknown) => e);
    expect(isQuotaExceededError(error)).toBe(true);
    expect(error).toMatchObject({ quota: 'sonnet', reason: 'too-large', neededTokens: GOVERNOR_NEED, limitTokens: GOVERNOR_NEED - 1 });
    expect(engine.stats.requests).toBe(0);
  });

  it('names the quota, what the call needs, what is in use and when room returns', async () => {
    const engine = quotaSimulator(QUOTA, WINDOW_MS);
    const { client } = quotaClient(engine, { quotas: [quota()] });
    await burst(FITS, () => burstCall(client));
    // Charges are a little below holds: one more fits once the first calls settled.
    await burstCall(client);
    const before = Date.now();
    const error: unknown = await burstCall(client).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'QuotaExceededError', quota: 'sonnet', key: undefined, reason: 'limit', neededTokens: GOVERNOR_NEED, limitTokens: QUOTA });
    const e = error as { inUseTokens: number; retryAt: Date; message: string };
    expect(e.inUseTokens + GOVERNOR_NEED).toBeGreaterThan(QUOTA);
    expect(e.retryAt.getTime()).toBeGreaterThan(before);
    expect(e.retryAt.getTime()).toBeLessThanOrEqual(Date.now() + WINDOW_MS);
    expect(e.message).toContain('Quota "sonnet" has no room');
  });
});
