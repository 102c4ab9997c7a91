import { afterEach, describe, expect, it, vi } from 'vitest';
import { bedrockFinOps, isConfigurationError, type BedrockFinOpsOptions } from '../../src/index.js';
import { resolveQuotasConfig, type QuotaRule } from '../../src/quotas/config.js';
import { quotaNow } from '../../src/quotas/clock.js';
import { QuotaCounters } from '../../src/quotas/counters.js';
import { QuotaGovernor, type Acquired } from '../../src/quotas/governor.js';
import { MemoryQuotaStore } from '../../src/quotas/memory-store.js';
import { shareRoom } from '../../src/quotas/shares.js';
import { MAX_TIMER_MS } from '../../src/validate.js';

/**
 * The quota governor and the in-memory store against a careless or hostile configuration and a
 * clock that jumps. Each test says what is held, charged and released.
 */
function governor(rule: Partial<QuotaRule> = {}) {
  const [q] = resolveQuotasConfig({ quotas: [{ name: 'q', match: { model: 'm*' }, tokensPerMinute: 100, windowMs: 1_000, ...rule }] }).quotas;
  if (q === undefined) throw new Error('no quota');
  const store = new MemoryQuotaStore();
  const g = new QuotaGovernor(q, store, new QuotaCounters());
  return { g, store, inUse: () => store.read(g.spec(quotaNow()), quotaNow()).inUse };
}
const need = (tokens: number) => ({ tokens, requests: 1 });
const held = (a: Acquired | Promise<Acquired>): boolean => !(a instanceof Error) && !(a instanceof Promise);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const base: QuotaRule = { name: 'q', match: { model: 'anthropic.claude-sonnet-4*' }, tokensPerMinute: 1_000 };
/** The ConfigurationError `bedrockFinOps` throws for `rule`, if any. */
function configError(rule: Record<string, unknown>): { field?: string; message?: string } | undefined {
  try {
    bedrockFinOps({ quotas: [rule] } as unknown as BedrockFinOpsOptions);
    return undefined;
  } catch (e) {
    if (!isConfigurationError(e)) throw e;
    return e;
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe('absurd quota configuration is a ConfigurationError naming the field, at construction', () => {
  it.each([
    ['tokensPerMinute', 0],
    ['tokensPerMinute', -5],
    ['tokensPerMinute', Number.NaN],
    ['tokensPerMinute', 1e300],
    ['tokensPerMinute', 10.5],
    ['requestsPerMinute', 0],
    ['requestsPerMinute', 0.5],
    ['requestsPerMinute', Number.POSITIVE_INFINITY],
    ['burndown', 0],
    ['burndown', Number.NaN],
    ['burndown', -1],
    // Every call with a maxTokens would be refused as too large (not a bypass, but a configuration nobody means).
    ['burndown', 1e300],
    ['burndown', 1001],
    ['windowMs', 0],
    ['windowMs', 1.5],
    // A window a Date cannot hold: once full, the refusal's retryAt threw a RangeError and the call went out unchecked.
    ['windowMs', 1e16],
    // Past what a Node timer can wait: the wait's deadline fired at once.
    ['windowMs', MAX_TIMER_MS + 1],
    ['maxWaitMs', -1],
    ['maxWaitMs', Number.NaN],
    ['maxWaitMs', 1e300],
    ['maxWaitMs', MAX_TIMER_MS + 1],
  ])('%s: %s', (field, value) => {
    const error = configError({ ...base, [field]: value });
    expect(error?.message).toContain(`quotas[0] ("q").${field}`);
  });

  it.each([
    ['weights', { per: 'team', weights: { a: 1e308 } }, '.weights.a'],
    ['weights', { per: 'team', weights: { a: Number.POSITIVE_INFINITY } }, '.weights.a'],
    ['weights', { per: 'team', weights: { a: 0 } }, '.weights.a'],
    ['floor', { per: 'team', floor: Number.NaN }, '.floor'],
    ['floor', { per: 'team', floor: -0.1 }, '.floor'],
  ])('shares.%s: %j', (_, shares, field) => {
    expect(configError({ ...base, shares })?.message).toContain(`quotas[0] ("q").shares${field}`);
  });

  it('a long window waits at most as long as a timer can: the default maxWaitMs (2 × windowMs) is capped, so a waiting call still waits', async () => {
    const [q] = resolveQuotasConfig({ quotas: [{ ...base, windowMs: 1_500_000_000 }] }).quotas;
    expect(q?.maxWaitMs).toBe(MAX_TIMER_MS);
    const { g, inUse } = governor({ windowMs: 1_500_000_000, onLimit: 'wait' });
    expect(held(g.acquire('', 1, need(100), true))).toBe(true);
    let outcome: Acquired | undefined;
    void Promise.resolve(g.acquire('', 1, need(10), true)).then((a) => (outcome = a));
    await sleep(30);
    // Held: the first call's 100; the second is still queued (before: its 3e9 ms deadline overflowed and refused it after 1 ms).
    expect(outcome).toBeUndefined();
    expect(g.waiting).toBe(1);
    expect(inUse()).toEqual({ tokens: 100, requests: 1 });
  });
});

describe('shares with weights whose sum overflows', () => {
  it('never give a team NaN room (NaN compared as "fits", so every call was held past the limit)', () => {
    // Guarantees of 1e308-weighted teams: (limit × w) / Σw = Infinity / Infinity = NaN.
    const room = shareRoom(100, 0, { team: 'b', weight: 1e308, use: 0 }, [{ team: 'a', weight: 1e308, use: 60 }]);
    expect(room).toBe(0);
  });
});

describe('a wall clock that steps back (NTP, a VM resumed, vi.setSystemTime)', () => {
  const T = 10_000_000;
  const HOUR = 3_600_000;

  it('charges leave the window one window after the step at most: a quota filled just before a 1 h step back had no room for the whole hour', () => {
    vi.useFakeTimers({ now: T });
    const { g, inUse } = governor({ onLimit: 'reject' });
    const h = g.acquire('', 1, need(100), false);
    if (!held(h)) throw new Error('not held');
    // Charged: 100 at T (the whole quota).
    g.settle(h as never, 100, quotaNow());
    vi.setSystemTime(T - HOUR);
    expect(held(g.acquire('', 1, need(50), false))).toBe(false);
    // A window (1 s) and a bit of real time later, Bedrock's window has let the charge go; so does the governor's.
    vi.advanceTimersByTime(1_001);
    expect(inUse()).toEqual({ tokens: 0, requests: 0 });
    const again = g.acquire('', 1, need(50), false);
    expect(held(again)).toBe(true);
    // Held now: the new call's 50 and its request.
    expect(inUse()).toEqual({ tokens: 50, requests: 1 });
  });

  it('the believed limit after a 429 grows back within two windows of the step, not two windows after the pre-step time', () => {
    vi.useFakeTimers({ now: T });
    const { g } = governor();
    g.throttled(quotaNow());
    expect(g.believed.fraction(quotaNow())).toBeLessThan(1);
    vi.setSystemTime(T - HOUR);
    // The next call paces against the shrunk limit (as every call reads it)...
    expect(g.spec(quotaNow()).limit.tokens).toBe(10);
    // ...and two windows later the whole configured limit is back.
    vi.advanceTimersByTime(2_001);
    expect(g.spec(quotaNow()).limit.tokens).toBe(100);
  });

  it('time waited never counts negative (bedrock_finops.quota.wait.time is a counter)', async () => {
    vi.useFakeTimers({ now: T });
    const { g } = governor({ onLimit: 'wait', maxWaitMs: 5_000 });
    const counters = (g as unknown as { counters: QuotaCounters }).counters;
    expect(held(g.acquire('', 1, need(100), true))).toBe(true);
    const waiting = Promise.resolve(g.acquire('', 1, need(10), true));
    vi.setSystemTime(T - HOUR);
    await vi.advanceTimersByTimeAsync(5_001);
    expect(await waiting).toMatchObject({ reason: 'wait-timeout' });
    expect(counters.waits.get('q')).toMatchObject({ timedOut: 1 });
    expect(counters.waits.get('q')?.ms).toBeGreaterThanOrEqual(0);
  });
});

describe('shutdown with calls waiting for room', () => {
  it('close() refuses every waiting call at once (wait-timeout) and no wait begins after it; holds in flight stay until they settle', async () => {
    const { g, inUse } = governor({ onLimit: 'wait', maxWaitMs: 600_000 });
    const first = g.acquire('', 1, need(100), true);
    expect(held(first)).toBe(true);
    const waiting = [Promise.resolve(g.acquire('', 1, need(10), true)), Promise.resolve(g.acquire('', 1, need(20), true))];
    expect(g.waiting).toBe(2);
    g.close();
    // Refused, nothing held for them: the process is not kept alive by their 10-minute deadlines.
    for (const w of waiting) expect(await w).toMatchObject({ name: 'QuotaExceededError', reason: 'wait-timeout' });
    expect(g.waiting).toBe(0);
    expect(inUse()).toEqual({ tokens: 100, requests: 1 });
    // A call that does not fit after close is refused, not queued.
    expect(g.acquire('', 1, need(10), true)).toMatchObject({ reason: 'wait-timeout' });
    // The call in flight settles as before: charged 60, the rest released.
    g.settle(first as never, 60, quotaNow());
    expect(inUse()).toEqual({ tokens: 60, requests: 1 });
  });
});

describe('shares among thousands of tenants over time', () => {
  it('a tenant arriving after 256 others (idle for long) gets its own guaranteed part, not one shared with every later tenant for good', () => {
    vi.useFakeTimers({ now: 0 });
    const { g } = governor({ onLimit: 'reject', shares: { per: 'tenant' } });
    // 256 tenants, each one call an hour ago, charged 1.
    for (let i = 0; i < 256; i++) {
      const h = g.acquire(`old${i}`, 1, need(1), false);
      g.settle(h as never, 1, quotaNow());
    }
    vi.advanceTimersByTime(3_600_000);
    // y asks for a little (it is active now: guaranteed half of 100 beside x); charged 10.
    const y = g.acquire('y', 1, need(10), false);
    expect(held(y)).toBe(true);
    g.settle(y as never, 10, quotaNow());
    // x may take its half (50), not 90: that would leave y 0 of its 50 (before: x and y were one `_OTHER` team, and x got 90).
    expect(held(g.acquire('x', 1, need(90), false))).toBe(false);
    expect(held(g.acquire('x', 1, need(50), false))).toBe(true);
    expect(held(g.acquire('y', 1, need(40), false))).toBe(true);
  });
});
