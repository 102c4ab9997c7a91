import { describe, expect, it } from 'vitest';
import { BelievedLimit } from '../../src/quotas/believed-limit.js';
import { BURNDOWN_TABLE, outputBurndown, quotaCharge, quotaNeed } from '../../src/quotas/index.js';
import { guarantees, shareRoom } from '../../src/quotas/shares.js';
import { WindowUse } from '../../src/quotas/window-use.js';

describe("Bedrock's quota arithmetic", () => {
  it('burns 5 quota tokens per output token on Claude 4 class models and 1 elsewhere, by base model', () => {
    expect(outputBurndown('anthropic.claude-sonnet-4-20250514-v1:0')).toBe(5);
    expect(outputBurndown('anthropic.claude-opus-4-1-20250805-v1:0')).toBe(5);
    expect(outputBurndown('anthropic.claude-sonnet-4-5-20250929-v1:0')).toBe(5);
    expect(outputBurndown('anthropic.claude-3-7-sonnet-20250219-v1:0')).toBe(5);
    expect(outputBurndown('anthropic.claude-3-5-haiku-20241022-v1:0')).toBe(1);
    expect(outputBurndown('amazon.nova-pro-v1:0')).toBe(1);
    expect(outputBurndown(undefined)).toBe(1);
    expect(BURNDOWN_TABLE.every((e) => e.source.includes('quotas-token-burndown'))).toBe(true);
  });

  it('holds the whole prompt + maxTokens × burndown and one request at admission', () => {
    expect(quotaNeed(1_000, 500, 5)).toEqual({ tokens: 3_500, requests: 1 });
    expect(quotaNeed(10.2, 0, 5)).toEqual({ tokens: 11, requests: 1 });
  });

  it('charges input + cache writes + output × burndown at settlement; cache reads are free', () => {
    expect(quotaCharge({ inputTokens: 100, cacheWriteInputTokens: 50, outputTokens: 20 }, 5)).toBe(250);
    expect(quotaCharge({ inputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 0 }, 5)).toBe(0);
    expect(quotaCharge({ inputTokens: Number.NaN, cacheWriteInputTokens: 0, outputTokens: 1 }, 5)).toBe(0);
  });
});

describe('a sliding window of use', () => {
  it('counts holds until they settle and charges until one window after they were made', () => {
    const w = new WindowUse();
    w.hold({ tokens: 100, requests: 1 }, 0);
    expect(w.use(10, 1_000)).toEqual({ tokens: 100, requests: 1 });
    w.settle({ tokens: 100, requests: 1 }, { tokens: 40, requests: 0 }, 500);
    expect(w.use(999, 1_000)).toEqual({ tokens: 40, requests: 1 });
    expect(w.use(1_000, 1_000)).toEqual({ tokens: 40, requests: 0 });
    expect(w.use(1_500, 1_000)).toEqual({ tokens: 0, requests: 0 });
  });

  it('says when enough room has left the window, oldest charges first, or nothing when only calls in flight hold it', () => {
    const w = new WindowUse();
    w.settle({ tokens: 0, requests: 0 }, { tokens: 30, requests: 0 }, 100);
    w.settle({ tokens: 0, requests: 0 }, { tokens: 30, requests: 0 }, 200);
    expect(w.freedAt('tokens', 20, 1_000)).toBe(1_100);
    expect(w.freedAt('tokens', 50, 1_000)).toBe(1_200);
    expect(w.freedAt('tokens', 70, 1_000)).toBeUndefined();
  });
});

describe('shares', () => {
  it('guarantees each active team its weight\'s part, at least the floor, scaled down when floors ask for more than the limit', () => {
    expect(guarantees(100, 0, [{ team: 'a', weight: 1, use: 0 }, { team: 'b', weight: 3, use: 0 }])).toEqual([25, 75]);
    expect(guarantees(100, 0.4, [{ team: 'a', weight: 1, use: 0 }, { team: 'b', weight: 9, use: 0 }])).toEqual([40, 90].map((g) => (g * 100) / 130));
  });

  it('lets a team borrow what idle teams are not using, but not the unused part of an active team', () => {
    const self = { team: 'a', weight: 1, use: 80 };
    expect(shareRoom(100, 0, self, [])).toBe(20);
    expect(shareRoom(100, 0, self, [{ team: 'b', weight: 1, use: 0 }])).toBe(0);
    expect(shareRoom(100, 0, { team: 'b', weight: 1, use: 0 }, [self])).toBe(20);
    expect(shareRoom(100, 0, { team: 'a', weight: 1, use: 20 }, [{ team: 'b', weight: 1, use: 30 }])).toBe(30);
    expect(shareRoom(Infinity, 0, self, [])).toBe(Infinity);
  });
});

describe('the believed limit', () => {
  it('backs off after each throttle (to 90% of the lesser of the belief and what was in use), holds a window, then grows back over the next', () => {
    const b = new BelievedLimit({ tokens: 1_000, requests: Infinity }, 100);
    b.throttled(800, 0);
    expect(b.limit(50).tokens).toBe(720);
    b.throttled(900, 60);
    expect(b.limit(60).tokens).toBe(648);
    expect(b.limit(160).tokens).toBe(648);
    expect(b.limit(210).tokens).toBe(824);
    expect(b.limit(260)).toEqual({ tokens: 1_000, requests: Infinity });
  });

  it('never believes less than a tenth of the configured limit', () => {
    const b = new BelievedLimit({ tokens: 1_000, requests: 100 }, 100);
    for (let i = 0; i < 50; i++) b.throttled(0, 0);
    expect(b.limit(0)).toEqual({ tokens: 100, requests: 10 });
  });
});
