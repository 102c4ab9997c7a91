import { afterEach, describe, expect, it, vi } from 'vitest';
import { HOLD_LEASE_MS } from '../../src/quotas/book.js';
import { quotaNow, wallDate } from '../../src/quotas/clock.js';
import { resolveQuotasConfig, type QuotaRule } from '../../src/quotas/config.js';
import { QuotaCounters } from '../../src/quotas/counters.js';
import { QuotaGovernor, type Acquired } from '../../src/quotas/governor.js';
import { MemoryQuotaStore } from '../../src/quotas/memory-store.js';

/**
 * The governor's windows, hold leases and believed limit run on the quota clock, which the wall
 * clock being set does not move. Fake `Date` and `performance`: `vi.setSystemTime` steps the wall
 * clock only, `vi.advanceTimersByTime` lets time pass on both.
 */
const T = Date.UTC(2026, 10, 28, 3);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function governor(rule: Partial<QuotaRule> = {}) {
  const [q] = resolveQuotasConfig({ quotas: [{ name: 'q', match: { model: 'm*' }, tokensPerMinute: 100, windowMs: 1_000, onLimit: 'reject', ...rule }] }).quotas;
  if (q === undefined) throw new Error('no quota');
  const store = new MemoryQuotaStore();
  const g = new QuotaGovernor(q, store, new QuotaCounters());
  return { g, inUse: () => store.read(g.spec(quotaNow()), quotaNow()).inUse };
}
const need = (tokens: number) => ({ tokens, requests: 1 });
const held = (a: Acquired | Promise<Acquired>): boolean => !(a instanceof Error) && !(a instanceof Promise);

afterEach(() => {
  vi.useRealTimers();
});

describe('the quota clock', () => {
  it('reads as epoch ms, does not move when the wall clock is set, and converts back to the wall clock for callers', () => {
    vi.useFakeTimers({ now: T, toFake: ['Date', 'performance'] });
    expect(quotaNow()).toBe(T);
    vi.setSystemTime(T + 20 * MINUTE);
    expect(quotaNow()).toBe(T);
    // A time a window ahead on the quota clock is a window ahead of the (stepped) wall clock.
    expect(wallDate(T + MINUTE).getTime()).toBe(T + 21 * MINUTE);
  });
});

describe('a hold whose call never settles (a lost call) is released HOLD_LEASE_MS after it was placed, whatever the wall clock does', () => {
  for (const [label, step] of [['set forward 20 minutes', 20 * MINUTE], ['set back an hour', -HOUR]] as const) {
    it(`wall clock ${label} a minute after the hold`, () => {
      vi.useFakeTimers({ now: T, toFake: ['Date', 'performance'] });
      const { g, inUse } = governor();
      // Held: the lost call's 100 (the whole quota), never settled.
      expect(held(g.acquire('', 1, need(100), false))).toBe(true);
      vi.advanceTimersByTime(MINUTE);
      vi.setSystemTime(Date.now() + step);
      // Still held after the step (before, forward: released at once, the quota free for a call Bedrock would throttle).
      expect(held(g.acquire('', 1, need(10), false))).toBe(false);
      // Its request left the 1 s window long ago; its tokens stay held.
      expect(inUse()).toEqual({ tokens: 100, requests: 0 });
      vi.advanceTimersByTime(HOLD_LEASE_MS - MINUTE - 1_001);
      expect(held(g.acquire('', 1, need(10), false))).toBe(false);
      // Released once its lease ran out on the quota clock (before, back: held for another hour); charged nothing.
      vi.advanceTimersByTime(2_002);
      expect(held(g.acquire('', 1, need(100), false))).toBe(true);
      // In use: the new call's hold and request only.
      expect(inUse()).toEqual({ tokens: 100, requests: 1 });
    });
  }
});

describe('the believed limit after a 429', () => {
  it('a wall clock set forward two windows does not restore the configured limit: it is shrunk for a window after the 429, grows back over the next', () => {
    vi.useFakeTimers({ now: T, toFake: ['Date', 'performance'] });
    const { g } = governor();
    expect(held(g.acquire('', 1, need(50), false))).toBe(true);
    g.throttled(quotaNow());
    // Believed: 90% of the 50 in use at the 429.
    expect(g.spec(quotaNow()).limit.tokens).toBe(45);
    vi.setSystemTime(Date.now() + 20 * MINUTE);
    // Refused beside the 50 held, against 45 (before: the whole 100 again at once, while Bedrock still throttles).
    expect(g.acquire('', 1, need(10), false)).toMatchObject({ name: 'QuotaExceededError', limitTokens: 45, inUseTokens: 50 });
    vi.advanceTimersByTime(2_001);
    expect(g.spec(quotaNow()).limit.tokens).toBe(100);
  });
});
