import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import { waitFor } from '../helpers/processes.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { budgetInRedis, cpuHog, holdingWorker, PER_CALL, runWorker, scriptCalls, sleep, sum, type WorkerSpec } from './fleet-fixture.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server.stop();
});

/** Four workers with one spec, started together. */
function fleet(spec: Omit<WorkerSpec, 'url' | 'startAt'>, startInMs = 4_000) {
  const startAt = Date.now() + startInMs;
  return Promise.all(Array.from({ length: 4 }, () => runWorker({ ...spec, url: server.url, startAt })));
}

describe('a fleet of 4 processes sharing budgets through Redis', () => {
  it('racing 250 concurrent calls each with a CPU hog beside them, commits no more than the limit and admits at least 90% of what fits', async () => {
    const fits = 500;
    const limit = PER_CALL * fits + PER_CALL - 1;
    const hog = cpuHog();
    let results;
    try {
      results = await fleet({ prefix: 'race:', limit, calls: 250, concurrency: 250, onStoreError: 'deny' });
    } finally {
      hog.stop();
    }
    const admitted = sum(results, (r) => r.admitted);
    const committed = sum(results, (r) => r.tokens);
    // Charged: exactly the admitted calls' usage, never past the limit; released: every slice.
    expect(sum(results, (r) => r.errors)).toBe(0);
    expect(committed).toBe(admitted * PER_CALL);
    expect(committed).toBeLessThanOrEqual(limit);
    expect(admitted).toBeGreaterThanOrEqual(0.9 * fits);
    expect(admitted + sum(results, (r) => r.refused + r.unavailable)).toBe(1000);
    expect(await budgetInRedis(server.url, 'race:')).toMatchObject({ used: committed, leased: 0 });
    expect(results.every((r) => r.complete)).toBe(true);
  }, 180_000);

  it('far from the limit refuses nothing, never times out, and runs at most 0.1 scripts per call', async () => {
    const before = await scriptCalls(server.url);
    const results = await fleet({ prefix: 'far:', limit: 1e12, calls: 2_000, concurrency: 50, onStoreError: 'deny' });
    const scripts = (await scriptCalls(server.url)) - before;
    const admitted = sum(results, (r) => r.admitted);
    expect(admitted).toBe(8_000);
    expect(sum(results, (r) => r.refused + r.unavailable + r.errors)).toBe(0);
    expect(sum(results, (r) => r.stats.events.timeouts ?? 0)).toBe(0);
    expect(scripts / admitted).toBeLessThanOrEqual(0.1);
    // Charged: every call's usage, exactly; released: every slice at shutdown.
    expect(await budgetInRedis(server.url, 'far:')).toMatchObject({ used: sum(results, (r) => r.tokens), leased: 0 });
  }, 180_000);

  it("Redis paused for 2 s mid-traffic with onStoreError 'deny': once every process has shut down nothing is reserved and Redis holds exactly what they committed", async () => {
    const startIn = 4_000;
    const running = fleet({ prefix: 'pause:', limit: 400_000, calls: 2_000, concurrency: 10, latencyMs: 20, onStoreError: 'deny', store: { sliceFraction: 0.005 } }, startIn);
    // Paused once traffic runs (usage flushed), not at a fixed time: on a loaded machine a worker
    // may take longer than startIn to load, so its calls began after the pause and none was
    // refused store-unavailable (failed twice here, runs of 34-40 s instead of 6-9 s, with other
    // suites running on the machine; on the code before this change too).
    await sleep(startIn);
    await waitFor('the fleet to be calling', async () => ((await budgetInRedis(server.url, 'pause:')).used > 0 ? true : undefined), 60_000, 50);
    server.pause();
    await sleep(2_000);
    server.resume();
    const results = await running;
    // Refused while paused: the calls no slice had room for (store-unavailable, never "limit").
    expect(sum(results, (r) => r.unavailable)).toBeGreaterThan(0);
    expect(sum(results, (r) => r.refused + r.errors)).toBe(0);
    expect(results.every((r) => r.complete)).toBe(true);
    // Charged: exactly the admitted calls' usage; released: every slice; recorded: nothing lost.
    expect(await budgetInRedis(server.url, 'pause:')).toEqual({ used: sum(results, (r) => r.tokens), leased: 0, counters: 1 });
  }, 180_000);

  it('Redis killed and restarted mid-run (append-only file): no commit is lost once it is back', async () => {
    const startIn = 4_000;
    const running = fleet({ prefix: 'restart:', limit: 1e9, calls: 2_000, concurrency: 10, latencyMs: 20, onStoreError: 'deny', store: { closeTimeoutMs: 20_000 } }, startIn);
    await sleep(startIn + 1_000);
    await server.kill();
    await sleep(1_000);
    await server.restart();
    const results = await running;
    expect(sum(results, (r) => r.errors)).toBe(0);
    expect(results.every((r) => r.complete)).toBe(true);
    // Charged: every admitted call once (scripts re-sent after the restart count once); released: every slice.
    expect(await budgetInRedis(server.url, 'restart:')).toEqual({ used: sum(results, (r) => r.tokens), leased: 0, counters: 1 });
  }, 180_000);

  it('a worker killed with SIGKILL: its slice room returns to the budget after the slice TTL, its flushed usage stays', async () => {
    const limit = 10_000;
    const worker = await holdingWorker({ url: server.url, prefix: 'kill:', limit, calls: 1, concurrency: 1, onStoreError: 'deny', store: { sliceTtlMs: 3_000 } });
    await sleep(1_000); // its one commit is flushed (flushIntervalMs 500)
    const held = await budgetInRedis(server.url, 'kill:');
    expect(held.used).toBe(PER_CALL);
    expect(held.leased).toBeGreaterThan(0);
    await worker.kill();
    await sleep(3_500);
    const client = new Redis(server.url);
    try {
      const store = new RedisBudgetStore({ client, keyPrefix: 'kill:' });
      const now = Date.now();
      const key = `shared\u0001\u0001${now - (now % 86_400_000)}`;
      // Reading sweeps the expired slice: the room it held is back, the usage it reported stays.
      const [state] = await store.read([{ key, budget: 'shared' }], now);
      expect(state?.used.tokens).toBe(PER_CALL);
      expect(state?.reserved.tokens).toBe(0);
      expect(await budgetInRedis(server.url, 'kill:')).toMatchObject({ used: PER_CALL, leased: 0 });
      const amounts = { tokens: limit - PER_CALL, inputTokens: 0, outputTokens: 0, nanoUsd: 0 };
      const r = await store.reserve({ id: 'after-kill', entries: [{ key, budget: 'shared', limits: { tokens: limit }, amounts, enforce: true, windowEnd: now + 86_400_000 }], now, leaseMs: 60_000 });
      expect(r.admitted).toBe(true);
      await store.close();
    } finally {
      await client.quit();
    }
  }, 60_000);
});
