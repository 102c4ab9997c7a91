import { createHash } from 'node:crypto';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isConfigurationError } from '../../src/index.js';
import type { ReservationEntry, Units } from '../../src/budgets/index.js';
import { RedisBudgetStore, type RedisBudgetStoreOptions } from '../../src/budgets/redis/index.js';
import { budgetTag } from '../../src/budgets/redis/keys.js';
import { LEASE, SCRIPTS } from '../../src/budgets/redis/scripts.js';
import { waitFor } from '../helpers/processes.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { describeStoreContract } from '../shared/store-contract.js';
import { simulated } from '../helpers/simulated-finops.js';

let server: RedisServer;
const clients: { close: () => Promise<unknown> }[] = [];

beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await server.stop();
});

describeStoreContract('redis (ioredis)', () => {
  const client = new Redis(server.url);
  clients.push({ close: () => client.quit() });
  return new RedisBudgetStore({ client, keyPrefix: 'test:io:' });
});

describeStoreContract('redis (node-redis)', async () => {
  const client = createClient({ url: server.url });
  await client.connect();
  clients.push({ close: () => client.quit() });
  return new RedisBudgetStore({ client, keyPrefix: 'test:node:' });
});

const tokens = (n: number): Units => ({ tokens: n, inputTokens: n, outputTokens: 0, nanoUsd: 0 });
let seq = 0;
function entry(budget: string, limit: number, amount: number, now: number, windowEnd = now + 3_600_000): ReservationEntry {
  return { key: `${budget}\u0001\u0001${windowEnd}`, budget, limits: { tokens: limit }, amounts: tokens(amount), enforce: true, windowEnd };
}
async function leased(redis: Redis, key: string): Promise<{ used: number; leased: number }> {
  const [u, l] = await redis.hmget(key, 'u_t', 'l_t');
  return { used: Number(u ?? 0), leased: Number(l ?? 0) };
}

describe('redis scripts', () => {
  it('pins the SHA-1 of each Lua script', () => {
    for (const s of SCRIPTS) expect(createHash('sha1').update(s.source).digest('hex'), s.name).toBe(s.sha);
  });

  it('a lease script sent twice with the same sequence number applies once (usage and slice)', async () => {
    const redis = new Redis(server.url);
    clients.push({ close: () => redis.quit() });
    const keys = ['twice:{b}:c:k', 'twice:{b}:z:k', 'twice:{b}:w', 'twice:{b}:m'];
    // holder h, seq 1, ttl, forget, not final, fraction 0.5, window, id; then tokens: limit 1000, usage 40, hold 0, need 10, want 100.
    const args = ['h', '1', '30000', '3600000', '0', '0.5', String(Date.now() + 60_000), 'k', '1000', '40', '0', '10', '100', '', '0', '0', '0', '0', '', '0', '0', '0', '0', '', '0', '0', '0', '0'];
    const first = (await redis.evalsha(LEASE.sha, 4, ...keys, ...args).catch(() => redis.eval(LEASE.source, 4, ...keys, ...args))) as number[];
    const second = (await redis.evalsha(LEASE.sha, 4, ...keys, ...args)) as number[];
    expect(first[0]).toBe(1);
    expect(second[0]).toBe(0);
    expect(second).toEqual([0, ...first.slice(1)]);
    // Used 40 once; the slice is max(want 100, half of the 960 free) = 480, leased once, for a
    // counter already in Redis; this script created it and the budget's marker (first use), so it is provisional: max(want 100, 960 × 0.5 / 16 = 30) = 100.
    expect(await leased(redis, keys[0]!)).toEqual({ used: 40, leased: 100 });
    expect(await redis.pttl(keys[0]!)).toBe(-1);
    expect(await redis.pttl(keys[1]!)).toBe(-1);
  });
});

describe('Redis budget store behaviour', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(server.url);
    clients.push({ close: () => redis.quit() });
  });

  it("tags every key with its budget's name (one Cluster slot per budget) and sets no TTL", async () => {
    const store = new RedisBudgetStore({ client: redis, keyPrefix: 'layout:' });
    const now = Date.now();
    await store.reserve({ id: `l${++seq}`, entries: [entry('alpha', 1_000, 10, now), entry('be{ta}', 1_000, 10, now)], now, leaseMs: 60_000 });
    await store.close();
    const keys = (await redis.keys('layout:*')).sort();
    expect(new Set(keys.map((k) => /^layout:\{([^}]+)\}:/.exec(k)?.[1]))).toEqual(new Set(['alpha', budgetTag('be{ta}')]));
    // A name with braces: the braces replaced, and a digest of the name so that no other name shares its slot and state.
    expect(budgetTag('be{ta}')).toMatch(/^be_ta_~[0-9a-f]{16}$/);
    for (const k of keys) expect(await redis.pttl(k)).toBe(-1);
  });

  it('a prefix with its own {hash tag} is refused at construction (it put every budget in that one slot), and no key is written', async () => {
    expect(() => new RedisBudgetStore({ client: redis, keyPrefix: 'one:{slot}:' })).toThrow(/RedisBudgetStore\.keyPrefix: must not contain/);
    expect(await redis.keys('one:*')).toEqual([]);
  });

  it('leases a generous slice far from the limit and only what calls need near it', async () => {
    const store = new RedisBudgetStore({ client: redis, keyPrefix: 'size:' });
    const now = Date.now();
    const far = entry('far', 1_000_000, 100, now);
    // A counter already in Redis (not created by the lease script: see the provisional slice below).
    await redis.hset(`size:{far}:c:${far.key}`, 'u_t', 0);
    expect((await store.reserve({ id: `s${++seq}`, entries: [far], now, leaseMs: 60_000 })).admitted).toBe(true);
    // 1/16 of the free room, at once; the next 600 calls of 100 fit in it without Redis.
    expect(await leased(redis, `size:{far}:c:${far.key}`)).toEqual({ used: 0, leased: 62_500 });
    for (let i = 0; i < 600; i++) expect(store.reserve({ id: `s${++seq}`, entries: [far], now, leaseMs: 60_000 })).toMatchObject({ admitted: true });
    // A counter the lease script creates is provisional for half sliceTtlMs: a sixteenth of that (3,906).
    const fresh = entry('fresh', 1_000_000, 100, now);
    expect((await store.reserve({ id: `s${++seq}`, entries: [fresh], now, leaseMs: 60_000 })).admitted).toBe(true);
    expect(await leased(redis, `size:{fresh}:c:${fresh.key}`)).toEqual({ used: 0, leased: 3_906 });
    const near = entry('near', 1_000, 100, now);
    await redis.hset(`size:{near}:c:${near.key}`, 'u_t', 900);
    expect((await store.reserve({ id: `s${++seq}`, entries: [near], now, leaseMs: 60_000 })).admitted).toBe(true);
    expect(await leased(redis, `size:{near}:c:${near.key}`)).toEqual({ used: 900, leased: 100 });
    await store.close();
  });

  it('gives an idle slice back, keeping the usage', async () => {
    const store = new RedisBudgetStore({ client: redis, keyPrefix: 'idle:', idleReturnMs: 200, flushIntervalMs: 100, sliceTtlMs: 3_000 });
    const now = Date.now();
    const e = entry('idle', 100_000, 100, now);
    const id = `i${++seq}`;
    await store.reserve({ id, entries: [e], now, leaseMs: 60_000 });
    store.commit({ id, entries: [{ key: e.key, budget: 'idle', actual: tokens(70), windowEnd: e.windowEnd }], now });
    expect(store.stats().slices).toBe(1);
    await waitFor('the idle slice to be returned', async () => (store.stats().slices === 0 ? true : undefined), 5_000, 50);
    expect(await leased(redis, `idle:{idle}:c:${e.key}`)).toEqual({ used: 70, leased: 0 });
    expect(store.stats().events).toMatchObject({ slices_leased: 1, slices_returned: 1, commits_buffered: 1, commits_acknowledged: 1 });
    await store.close();
  });

  it('deletes counters retainMs after their window ended', async () => {
    const store = new RedisBudgetStore({ client: redis, keyPrefix: 'prune:', retainMs: 300, flushIntervalMs: 100 });
    const now = Date.now();
    const ending = entry('prune', 1_000, 10, now, now + 200);
    const id = `p${++seq}`;
    await store.reserve({ id, entries: [ending], now, leaseMs: 60_000 });
    store.commit({ id, entries: [{ key: ending.key, budget: 'prune', actual: tokens(10), windowEnd: ending.windowEnd }], now });
    expect((await redis.keys('prune:*')).length).toBeGreaterThan(0);
    // Only the budget's marker stays (no TTL: it tells new counters from lost ones).
    await waitFor('finished windows to be deleted', async () => ((await redis.keys('prune:*')).join() === 'prune:{prune}:m' ? true : undefined), 10_000, 100);
    await store.close();
  });

  it('rejects bad options with a ConfigurationError naming the field', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ sliceFraction: 0 }, 'sliceFraction'],
      [{ sliceFraction: 2 }, 'sliceFraction'],
      [{ sliceTtlMs: -1 }, 'sliceTtlMs'],
      [{ flushIntervalMs: 20_000 }, 'flushIntervalMs'],
      [{ idempotencyMs: 1_000 }, 'idempotencyMs'],
      [{ storeTimeoutMs: 0 }, 'storeTimeoutMs'],
      [{ keyPrefix: 3 }, 'keyPrefix'],
      [{ provisionalCapFraction: 1.5 }, 'provisionalCapFraction'],
      [{ provisionalCapFraction: Number.NaN }, 'provisionalCapFraction'],
    ];
    for (const [options, field] of cases) {
      let caught: unknown;
      try {
        new RedisBudgetStore({ client: redis, ...options });
      } catch (e) {
        caught = e;
      }
      expect(isConfigurationError(caught), field).toBe(true);
      expect((caught as Error).message).toContain(`RedisBudgetStore.${field}`);
    }
    expect(() => new RedisBudgetStore({ client: {} as RedisBudgetStoreOptions['client'] })).toThrow(/client/);
  });

  it('admits 10 of 10 sequential calls that each reserve 6,000 and use 110 under a 10,000 limit (a commit is visible before send() resolves)', async () => {
    const store = new RedisBudgetStore({ client: redis, keyPrefix: 'sequential:' });
    const { finops, call } = simulated({ budgetStore: store, onStoreError: 'deny', estimator: () => 5_990, budgets: [{ name: 'seq', limit: { tokens: 10_000 }, window: 'day' }] });
    let admitted = 0;
    // 388 characters: 97 + 3 input tokens, plus 10 output.
    for (let i = 0; i < 10; i++) admitted += await call('x'.repeat(388), 10).then(() => 1, () => 0);
    expect(admitted).toBe(10);
    const [status] = await finops.budgets.status();
    expect(status).toMatchObject({ used: { tokens: 1_100 }, reserved: { tokens: 0 } });
    await finops.shutdown();
  });

  it('exports its slices, round trips, outage state and commits as metrics', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const store = new RedisBudgetStore({ client: redis, keyPrefix: 'metrics:' });
    const { finops, call } = simulated({ meterProvider: new MeterProvider({ readers: [reader] }), budgetStore: store, budgets: [{ name: 'm', limit: { tokens: 100_000 }, window: 'day' }] });
    await call();
    await call();
    const { resourceMetrics } = (await reader.collect()) as { resourceMetrics: ResourceMetrics };
    const metrics = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    const find = (name: string) => metrics.find((m) => m.descriptor.name === name);
    const point = (name: string, attrs: Record<string, string> = {}) => find(name)?.dataPoints.find((p) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v))?.value;
    expect(point('bedrock_finops.budget.store.events', { 'bedrock_finops.store.event': 'slices_leased' })).toBe(1);
    expect(point('bedrock_finops.budget.store.events', { 'bedrock_finops.store.event': 'commits_buffered' })).toBe(2);
    expect(point('bedrock_finops.budget.store.slices')).toBe(1);
    expect(point('bedrock_finops.budget.store.unavailable')).toBe(0);
    expect(point('bedrock_finops.budget.store.pending_commits')).toBe(2);
    const trips = point('bedrock_finops.budget.store.round_trip.duration', { 'bedrock_finops.store.operation': 'lease' }) as { count: number } | undefined;
    expect(trips?.count).toBe(1);
    await finops.shutdown();
  });
});
