import { describe, expect, it } from 'vitest';
import type { Units } from '../../src/budgets/index.js';
import { redisDeadline } from '../../src/budgets/redis/deadline.js';
import { KeySpace } from '../../src/budgets/redis/keys.js';
import { Lease, ZERO_REPLY, type CounterReply } from '../../src/budgets/redis/lease.js';

const t = (tokens: number): Units => ({ tokens, inputTokens: 0, outputTokens: 0, nanoUsd: 0 });
const reply = (u: number, l: number, r: number, g: number): CounterReply => ({ u: t(u), l: t(l), r: t(r), g: t(g) });

function lease(limit = 10_000): Lease {
  const l = new Lease('k', 'b', Date.now() + 60_000, new KeySpace('p:').of('b', 'k'));
  l.limits = { tokens: limit };
  return l;
}

/** A lease that Redis granted `g` tokens (nothing used yet). */
function granted(g: number, limit = 10_000): Lease {
  const l = lease(limit);
  const op = l.nextOp('lease', 1, 0.0625, [t(g)]);
  l.settle(op, reply(0, g, 0, g), false, performance.now(), 30_000);
  return l;
}

describe('a lease (this process’s slice of one counter)', () => {
  it('admits locally while its slice has room: reserved and committed amounts both count', () => {
    const l = granted(1_000);
    expect(l.fits(t(1_000))).toBe(true);
    l.reserve(t(600), performance.now());
    expect(l.fits(t(400))).toBe(true);
    expect(l.fits(t(401))).toBe(false);
    l.release(t(600));
    l.commit(t(550));
    expect(l.room('tokens', performance.now())).toBe(450);
    // Fleet view: Redis's usage plus what is not reported yet; reserved: other slices plus calls in flight.
    expect(l.view()).toEqual({ used: t(550), reserved: t(0) });
  });

  it('asks Redis for need and want beyond what it keeps, and a renewal keeps at most a fair share while on its way', () => {
    const l = granted(1_000);
    l.commit(t(200));
    const lease = l.nextOp('lease', 2, 0.0625, [t(900), t(300)]);
    // Keeps its unused 800; needs 100 more for the smaller call, wants 400 more for both.
    expect([lease.hold.tokens, lease.need.tokens, lease.want.tokens]).toEqual([800, 0, 400]);
    l.settle(lease, reply(200, 1_200, 200, 1_200), false, performance.now(), 30_000);
    const flush = l.nextOp('flush', 3, 0.0625, []);
    // Free room: 10,000 − 200 − 1,200 + its own 1,200 unused = 9,800 → a fair share of 612.
    expect(flush.hold.tokens).toBe(612);
    expect(l.fits(t(612))).toBe(true);
    expect(l.fits(t(613))).toBe(false);
  });

  it('a failed script keeps bounding admission until Redis answers again (it may have run and shrunk the slice)', () => {
    const l = granted(1_000);
    l.nextOp('return', 2, 0.0625, []);
    l.failed();
    expect(l.op).toBeUndefined();
    expect(l.fits(t(1))).toBe(false);
    const next = l.nextOp('lease', 3, 0.0625, [t(10)]);
    l.settle(next, reply(0, 500, 0, 500), false, performance.now(), 30_000);
    expect(l.fits(t(500))).toBe(true);
  });

  it('stops admitting from a slice once its TTL (from when its last renewal was sent) may have run out in Redis', () => {
    const l = lease();
    const op = l.nextOp('lease', 1, 0.0625, [t(100)]);
    l.settle(op, reply(0, 1_000, 0, 1_000), false, performance.now(), 30_000);
    expect(l.fits(t(100), op.sentAt + 26_000)).toBe(true);
    expect(l.fits(t(100), op.sentAt + 27_001)).toBe(false);
  });

  it('a rebase starts a new holder that reports only what Redis never acknowledged', () => {
    const l = granted(1_000);
    l.commit(t(300));
    const flush = l.nextOp('flush', 2, 0.0625, []);
    l.settle(flush, reply(300, 1_000, 300, 700), false, performance.now(), 30_000);
    l.commit(t(50));
    const before = l.holder;
    l.rebase();
    expect(l.holder).not.toBe(before);
    expect(l.used).toEqual(t(50));
    expect(l.acked).toEqual({ ...ZERO_REPLY, u: t(300), l: t(1_000) });
  });
});

describe('the Redis deadline', () => {
  it('expires after its time when the event loop is free, and never once cancelled', async () => {
    const fired: string[] = [];
    redisDeadline(20, () => fired.push('a'));
    const cancel = redisDeadline(20, () => fired.push('b'));
    cancel();
    await new Promise((r) => setTimeout(r, 80));
    expect(fired).toEqual(['a']);
  });

  it('does not count a blocked event loop: after a stall it waits its full time again', async () => {
    let firedAt = 0;
    const start = performance.now();
    redisDeadline(50, () => (firedAt = performance.now()));
    const until = performance.now() + 200;
    while (performance.now() < until);
    await new Promise((r) => setTimeout(r, 150));
    // Not at the end of the stall (200 ms): 50 ms of free loop after it.
    expect(firedAt - start).toBeGreaterThanOrEqual(240);
  });
});
