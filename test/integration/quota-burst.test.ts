import { describe, expect, it } from 'vitest';
import type { QuotaRule } from '../../src/quotas/index.js';
import { burst, burstCall, quotaClient, quotaSimulator, SIM_NEED, SONNET } from '../helpers/quota-burst.js';

// The acceptance test: a handler enforcing a 60-second token quota with 5× output
// burndown (here a 1-second window, the same arithmetic), a burst needing twice the quota.
const WINDOW_MS = 1_000;
const FITS = 40;
const QUOTA = SIM_NEED * FITS + SIM_NEED - 1;
const BURST = 2 * FITS;
const quota = (more: Partial<QuotaRule> = {}): QuotaRule => ({ name: 'sonnet-tpm', match: { model: 'anthropic.claude-sonnet-4*' }, tokensPerMinute: QUOTA, windowMs: WINDOW_MS, ...more });

describe('a burst needing twice the quota, against a handler that enforces it (5× output burndown)', () => {
  it("with the governor and onLimit 'reject': no throttles, at least 90% of the quota used, the rest refused with QuotaExceededError", async () => {
    const engine = quotaSimulator(QUOTA, WINDOW_MS);
    const { client, finops, records } = quotaClient(engine, { quotas: [quota({ onLimit: 'reject' })] });
    const r = await burst(BURST, () => burstCall(client));
    expect(engine.stats.throttled).toBe(0);
    expect(r.throttled + r.failed).toBe(0);
    expect(r.served + r.refused).toBe(BURST);
    // Used: what the handler counted at its busiest (reservations and charges), and what was charged.
    expect(engine.stats.quotaPeak).toBeGreaterThanOrEqual(0.9 * QUOTA);
    expect(engine.stats.quotaPeak).toBeLessThanOrEqual(QUOTA);
    expect(r.served * SIM_NEED).toBeGreaterThanOrEqual(0.9 * QUOTA);
    expect(records).toHaveLength(r.served);
    const [status] = finops?.quotas.status() ?? [];
    // Released: every hold, once its call settled; charged: input + output × 5 per served call.
    expect(status?.inUse.tokens).toBe(records.reduce((s, rec) => s + rec.inputTokens + rec.outputTokens * 5, 0));
  });

  it("with the governor and onLimit 'wait': no throttles, every call served, those beyond the quota delayed until room returned", async () => {
    const engine = quotaSimulator(QUOTA, WINDOW_MS);
    const { client, finops } = quotaClient(engine, { quotas: [quota({ onLimit: 'wait', maxWaitMs: 10 * WINDOW_MS })] });
    const r = await burst(BURST, () => burstCall(client));
    expect(engine.stats.throttled).toBe(0);
    expect(r).toEqual({ served: BURST, refused: 0, throttled: 0, failed: 0 });
    expect(engine.stats.quotaPeak).toBeGreaterThanOrEqual(0.9 * QUOTA);
    expect(engine.stats.quotaPeak).toBeLessThanOrEqual(QUOTA);
    expect(finops?.quotas.status()[0]?.waiting).toBe(0);
  });

  it('without the governor: the same burst draws throttles from the handler', async () => {
    const engine = quotaSimulator(QUOTA, WINDOW_MS);
    const { client } = quotaClient(engine, undefined);
    const r = await burst(BURST, () => burstCall(client));
    expect(r.throttled).toBeGreaterThan(0);
    expect(engine.stats.throttled).toBe(r.throttled);
    expect(r.served).toBeLessThanOrEqual(FITS);
  });

  it('with the governor but without the quota configured (another model): the burst draws throttles', async () => {
    const engine = quotaSimulator(QUOTA, WINDOW_MS);
    const { client } = quotaClient(engine, { quotas: [quota({ match: { model: 'amazon.nova-*' } })] });
    const r = await burst(BURST, () => burstCall(client, 'search', SONNET));
    expect(r.throttled).toBeGreaterThan(0);
  });
});
