import { describe, expect, it } from 'vitest';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import { useRedis } from './use-redis.js';
import { budgetInRedis, sleep } from './fleet-fixture.js';
import { dayCall } from './day-entry.js';

// A counter's holder set (`…:z:<counter>`, slices by expiry) is what returns a dead process's
// slice: every script sweeps its due entries. Under an `allkeys-*` eviction policy it can be
// evicted on its own (it is a key like any other); the slices it listed were then never swept, so
// the room a crashed process held stayed leased for the counter's life (a `total` counter: for ever).

const LIMIT = 100_000;
const CALL = 1_000;
// A 1.5 s slice TTL: a dead process's slice is due 1.5 s after its last renewal.
const settings = { flushIntervalMs: 50, sliceTtlMs: 1_500, idempotencyMs: 120_000, idleReturnMs: 600_000, closeTimeoutMs: 10_000 };

const redis = useRedis(['--appendonly', 'no']);

describe('a counter whose holder set Redis lost on its own', () => {
  it("still gives back a dead process's slice", async () => {
    const ca = redis.client();
    const a = new RedisBudgetStore({ client: ca, keyPrefix: 'zl:', ...settings });
    for (let i = 0; i < 5; i++) expect(await dayCall(a, 'z', LIMIT, CALL)).toBe('admitted');
    await sleep(200);
    const held = await budgetInRedis(redis.server.url, 'zl:', 'z');
    // Charged: 5 calls; A's slice holds room beyond them.
    expect(held.used).toBe(5 * CALL);
    expect(held.leased).toBeGreaterThan(0);
    // A dies (its connection gone, nothing given back); the holder set goes (evicted).
    ca.disconnect();
    const admin = redis.client();
    for (const key of await admin.keys('zl:{z}:z:*')) await admin.del(key);
    // B uses the counter, then again once A's slice is due (a slice TTL later), then closes.
    const b = new RedisBudgetStore({ client: redis.client(), keyPrefix: 'zl:', ...settings });
    expect(await dayCall(b, 'z', LIMIT, CALL)).toBe('admitted');
    await sleep(2_000);
    expect(await dayCall(b, 'z', LIMIT, CALL)).toBe('admitted');
    expect(await b.close()).toEqual({ complete: true, undelivered: [] });
    // Charged: 7 calls; released: every slice, A's too. Before: A's slice stayed leased (371 of
    // room: its first, provisional slice), never to go back.
    expect(await budgetInRedis(redis.server.url, 'zl:', 'z')).toEqual({ used: 7 * CALL, leased: 0, counters: 1 });
  });

  it("keeps a live slice of a process with a longer sliceTtlMs leased until that process's own TTL", async () => {
    // B (1 s slices) starts the budget; A (30 s slices: it renews every 10 s, or when it flushes) then holds a full slice.
    const short = { ...settings, sliceTtlMs: 1_000, flushIntervalMs: 50 };
    const b = new RedisBudgetStore({ client: redis.client(), keyPrefix: 'zt:', ...short });
    expect(await dayCall(b, 't', LIMIT, CALL)).toBe('admitted');
    await sleep(600);
    const a = new RedisBudgetStore({ client: redis.client(), keyPrefix: 'zt:', ...settings, sliceTtlMs: 30_000 });
    expect(await dayCall(a, 't', LIMIT, CALL)).toBe('admitted');
    await sleep(200);
    const aSlice = (await budgetInRedis(redis.server.url, 'zt:', 't')).leased;
    // The holder set goes (evicted); B's scripts rebuild it, then sweep what is due a while later.
    const admin = redis.client();
    for (const key of await admin.keys('zt:{t}:z:*')) await admin.del(key);
    expect(await dayCall(b, 't', LIMIT, CALL)).toBe('admitted');
    await sleep(1_300);
    // B takes all the room it is leased; then A, live, uses the slice it holds (10 calls at once).
    while ((await dayCall(b, 't', LIMIT, CALL)) === 'admitted');
    const aCalls = await Promise.all(Array.from({ length: 10 }, () => dayCall(a, 't', LIMIT, CALL)));
    expect(await a.close()).toEqual({ complete: true, undelivered: [] });
    expect(await b.close()).toEqual({ complete: true, undelivered: [] });
    const after = await budgetInRedis(redis.server.url, 'zt:', 't');
    // Released: every slice. Charged: what both admitted, within the limit. Before: B's rebuild
    // scored A's live slice by B's 1 s TTL and its sweep gave the room back while A held it: B was
    // leased it too, and A's calls ran past the limit.
    expect(aSlice).toBeGreaterThan(2 * CALL);
    expect(after.leased).toBe(0);
    // Measured before: 110,000 used of 100,000 (A's 10 calls all admitted); now within it.
    expect(aCalls).toContain('admitted');
    expect(after.used).toBeLessThanOrEqual(LIMIT);
  });
});
