import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isQuotaExceededError } from '../../src/index.js';
import { HOLD_LEASE_MS } from '../../src/quotas/book.js';
import { resolveQuotasConfig, type QuotaRule } from '../../src/quotas/config.js';
import { quotaNow } from '../../src/quotas/clock.js';
import { QuotaCounters } from '../../src/quotas/counters.js';
import { QuotaGovernor, type Acquired } from '../../src/quotas/governor.js';
import { MemoryQuotaStore } from '../../src/quotas/memory-store.js';
import type { QuotaSpec, QuotaStore } from '../../src/quotas/store.js';

const spec = (tokens: number, windowMs = 1_000): QuotaSpec => ({ name: 'q', limit: { tokens, requests: Infinity }, configured: { tokens, requests: Infinity }, windowMs, floor: 0 });
const hold = (store: QuotaStore, id: string, tokens: number, now: number, team = '') => store.tryHold({ quota: spec(100), team, weight: 1, id, need: { tokens, requests: 1 }, now });

function governor(rule: Partial<QuotaRule> = {}, store: QuotaStore = new MemoryQuotaStore()) {
  const [q] = resolveQuotasConfig({ quotas: [{ name: 'q', match: { model: 'm*' }, tokensPerMinute: 100, windowMs: 1_000, ...rule }] }).quotas;
  if (q === undefined) throw new Error('no quota');
  const counters = new QuotaCounters();
  return { g: new QuotaGovernor(q, store, counters), counters, store };
}
const need = (tokens: number) => ({ tokens, requests: 1 });
const isHold = (a: Acquired): boolean => !(a instanceof Error);

describe('the in-memory quota store', () => {
  it('holds all or nothing, once per id, and settles a hold by releasing it and charging what the call used', () => {
    const store = new MemoryQuotaStore();
    expect(hold(store, 'a', 60, 0)).toMatchObject({ held: true });
    expect(hold(store, 'a', 60, 0)).toMatchObject({ held: true, inUse: { tokens: 60 } });
    expect(hold(store, 'b', 60, 0)).toMatchObject({ held: false, inUse: { tokens: 60 } });
    store.settle({ quota: spec(100), team: '', id: 'a', charged: { tokens: 20, requests: 0 }, now: 10 });
    // Charged 20 (until t = 1010), the rest of the hold released.
    expect(store.read(spec(100), 11).inUse).toEqual({ tokens: 20, requests: 1 });
    expect(store.read(spec(100), 1_010).inUse).toEqual({ tokens: 0, requests: 0 });
  });

  it('charges an id it never held (a call that spilled to on-demand)', () => {
    const store = new MemoryQuotaStore();
    store.settle({ quota: spec(100), team: '', id: 'spill', charged: { tokens: 30, requests: 1 }, now: 0 });
    expect(store.read(spec(100), 1).inUse).toEqual({ tokens: 30, requests: 1 });
  });

  it('says when the window will have room for a refused need, and releases the hold of a call that never settles after its lease', () => {
    const store = new MemoryQuotaStore();
    store.settle({ quota: spec(100), team: '', id: 'x', charged: { tokens: 50, requests: 0 }, now: 100 });
    void hold(store, 'lost', 40, 200);
    expect(hold(store, 'c', 30, 300)).toMatchObject({ held: false, retryAt: 1_100 });
    // Released: the lost call's hold, once its lease ran out; charged: nothing for it.
    expect(hold(store, 'd', 90, HOLD_LEASE_MS + 300)).toMatchObject({ held: true });
  });
});

describe('the quota governor', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('admits waiting calls in arrival order: a large call at the head is not overtaken by smaller ones behind it', async () => {
    const { g, store } = governor({ onLimit: 'wait', maxWaitMs: 10_000 });
    const first = g.acquire('', 1, need(80), true);
    expect(isHold(first as Acquired)).toBe(true);
    const order: string[] = [];
    const big = Promise.resolve(g.acquire('', 1, need(90), true)).then((a) => order.push(`big:${isHold(a)}`));
    const small = Promise.resolve(g.acquire('', 1, need(10), true)).then((a) => order.push(`small:${isHold(a)}`));
    await vi.advanceTimersByTimeAsync(10);
    expect(order).toEqual([]);
    g.settle(first as never, 80, quotaNow());
    await vi.advanceTimersByTimeAsync(1_100);
    await Promise.all([big, small]);
    expect(order).toEqual(['big:true', 'small:true']);
    expect(store.read(g.spec(quotaNow()), quotaNow()).inUse.tokens).toBe(100);
  });

  it('with shares, a team whose oldest call fits goes before a team whose oldest call does not', async () => {
    const { g } = governor({ onLimit: 'wait', maxWaitMs: 10_000, shares: { per: 'team' } });
    const a = g.acquire('a', 1, need(90), true) as Acquired;
    expect(isHold(a)).toBe(true);
    const order: string[] = [];
    void Promise.resolve(g.acquire('a', 1, need(50), true)).then(() => order.push('a'));
    void Promise.resolve(g.acquire('b', 1, need(10), true)).then(() => order.push('b'));
    await vi.advanceTimersByTimeAsync(5);
    expect(order).toEqual(['b']);
  });

  it("refuses a call that waited maxWaitMs with reason 'wait-timeout', and counts the wait and the throttle avoided", async () => {
    const { g, counters } = governor({ onLimit: 'wait', maxWaitMs: 300 });
    void g.acquire('', 1, need(100), true);
    const late = g.acquire('', 1, need(10), true);
    await vi.advanceTimersByTimeAsync(300);
    const refused = await late;
    expect(isQuotaExceededError(refused)).toBe(true);
    expect(refused).toMatchObject({ reason: 'wait-timeout', neededTokens: 10, inUseTokens: 100 });
    expect(counters.waits.get('q')).toEqual({ admitted: 0, timedOut: 1, ms: 300 });
    expect(counters.throttles.get('q')).toEqual({ avoided: 1, seen: 0 });
    expect(g.waiting).toBe(0);
  });

  it('rejects at once a call whose signal is already aborted', async () => {
    const { g } = governor({ onLimit: 'wait' });
    void g.acquire('', 1, need(100), true);
    await expect(g.acquire('', 1, need(10), true, AbortSignal.abort())).rejects.toMatchObject({ name: 'AbortError' });
    expect(g.waiting).toBe(0);
  });

  it('lets a waiting call go on without a quota check when the store fails (as admission does)', async () => {
    const memory = new MemoryQuotaStore();
    let broken = false;
    const flaky: QuotaStore = {
      tryHold: (r) => {
        if (broken) throw new Error('store down');
        return memory.tryHold(r);
      },
      settle: (r) => memory.settle(r),
      read: (q, now) => memory.read(q, now),
    };
    const { g } = governor({ onLimit: 'wait', maxWaitMs: 10_000 }, flaky);
    void g.acquire('', 1, need(100), true);
    const waiting = g.acquire('', 1, need(10), true);
    broken = true;
    await vi.advanceTimersByTimeAsync(200);
    expect(await waiting).toMatchObject({ need: { tokens: 0, requests: 0 } });
  });

  it('paces requests too when requestsPerMinute is set: a request counts from admission until a window later', async () => {
    const { g } = governor({ requestsPerMinute: 2, onLimit: 'reject' });
    const first = g.acquire('', 1, need(1), false) as Acquired;
    expect(isHold(first)).toBe(true);
    expect(isHold(g.acquire('', 1, need(1), false) as Acquired)).toBe(true);
    if (!(first instanceof Error)) g.settle(first, 1, quotaNow());
    expect(g.acquire('', 1, need(1), false)).toMatchObject({ name: 'QuotaExceededError', reason: 'limit' });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(isHold(g.acquire('', 1, need(1), false) as Acquired)).toBe(true);
  });

  it('settles a hold once: a second settle (a call settled twice) changes nothing', () => {
    const { g, store } = governor();
    const h = g.acquire('', 1, need(60), false) as Acquired;
    if (h instanceof Error) throw h;
    g.settle(h, 20, 0);
    g.settle(h, 20, 0);
    expect(store.read(g.spec(0), 1).inUse).toEqual({ tokens: 20, requests: 1 });
  });

  it('shrinks its believed limit after a throttle and tells a shared store', () => {
    const told: number[] = [];
    const memory = new MemoryQuotaStore();
    const store: QuotaStore = { tryHold: (r) => memory.tryHold(r), settle: (r) => memory.settle(r), read: (q, n) => memory.read(q, n), throttled: (_q, f) => told.push(f) };
    const { g, counters } = governor({}, store);
    void g.acquire('', 1, need(50), false);
    g.throttled(quotaNow());
    expect(g.spec(quotaNow()).limit.tokens).toBe(45);
    expect(told).toEqual([0.45]);
    expect(counters.throttles.get('q')).toEqual({ avoided: 0, seen: 1 });
  });
});
