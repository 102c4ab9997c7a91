import { describe, expect, it } from 'vitest';
import type { QuotaRule } from '../../src/quotas/index.js';
import { burstCall, GOVERNOR_NEED, quotaClient, quotaSimulator, sleep, sustain } from '../helpers/quota-burst.js';

const WINDOW_MS = 1_000;
/** Room for 20 calls a window: 10 guaranteed to each of two equal teams. */
const FITS = 20;
const QUOTA = GOVERNOR_NEED * FITS + GOVERNOR_NEED - 1;
const shared = (more: Partial<QuotaRule> = {}): QuotaRule => ({
  name: 'shared-tpm',
  match: { model: 'anthropic.claude-sonnet-4*' },
  tokensPerMinute: QUOTA,
  windowMs: WINDOW_MS,
  shares: { per: 'team' },
  onLimit: 'wait',
  maxWaitMs: 20 * WINDOW_MS,
  ...more,
});
const within = (times: readonly number[], from: number, to: number): number => times.filter((t) => t >= from && t < to).length;

describe('a quota shared by teams', () => {
  it('gives two equal teams under contention at least 45% of the quota each (and no throttles), however many calls each keeps in flight', async () => {
    const engine = quotaSimulator(QUOTA, WINDOW_MS);
    const { client } = quotaClient(engine, { quotas: [shared()] });
    const start = Date.now();
    const until = start + 8 * WINDOW_MS;
    // Search keeps three times as many calls in flight as ads: only the shares keep ads from being crowded out.
    const [search, ads] = await Promise.all([sustain(30, until, () => burstCall(client, 'search')), sustain(10, until, () => burstCall(client, 'ads'))]);
    // Measured after the first two windows (at the start, search got there first and borrowed ads's idle part).
    const from = start + 2 * WINDOW_MS;
    const capacity = ((until - from) / WINDOW_MS) * FITS;
    expect(engine.stats.throttled).toBe(0);
    expect(within(search, from, until) / capacity).toBeGreaterThanOrEqual(0.45);
    expect(within(ads, from, until) / capacity).toBeGreaterThanOrEqual(0.45);
  }, 30_000);

  it("lets a team borrow an idle team's part, and gives the other team its part back once it asks", async () => {
    const window = 500;
    const engine = quotaSimulator(QUOTA, window);
    const { client } = quotaClient(engine, { quotas: [shared({ windowMs: window, maxWaitMs: 20 * window })] });
    const start = Date.now();
    const searchUntil = start + 6 * window;
    const search = sustain(30, searchUntil, () => burstCall(client, 'search'));
    await sleep(2 * window);
    const adsFrom = Date.now();
    const ads = await sustain(10, searchUntil, () => burstCall(client, 'ads'));
    const searchTimes = await search;
    expect(engine.stats.throttled).toBe(0);
    // Alone, search had more than its guaranteed half.
    expect(within(searchTimes, start + window, adsFrom) / (((adsFrom - start - window) / window) * FITS)).toBeGreaterThan(0.6);
    // From the window after ads asked, the two split what was served.
    const from = adsFrom + window;
    const a = within(ads, from, searchUntil);
    expect(a / (a + within(searchTimes, from, searchUntil))).toBeGreaterThanOrEqual(0.45);
  }, 30_000);
});
