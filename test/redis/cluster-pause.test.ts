import { Cluster, type Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBudgetExceededError, withAttribution } from '../../src/index.js';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import { RedisQuotaStore } from '../../src/quotas/index.js';
import type { QuotaSpec } from '../../src/quotas/store.js';
import { waitFor } from '../helpers/processes.js';
import { clusterMasterOf, startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { simulated } from '../helpers/simulated-finops.js';
import { PER_CALL } from './fleet-fixture.js';

// One node of a real 3-node Redis Cluster frozen (SIGSTOP) for a moment, shorter than
// cluster-node-timeout (so the cluster itself stays up): budgets whose slot lives on the other
// nodes keep admitting; the frozen node's budget follows onStoreError.

let cluster: RedisCluster;
let client: Cluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
  client = new Cluster(cluster.nodes.map((n) => ({ host: n.host, port: n.port })), { redisOptions: { maxRetriesPerRequest: null } });
  client.on('error', () => undefined);
}, 60_000);
afterAll(async () => {
  await client.quit().catch(() => undefined);
  await cluster.stop();
});

/** The master serving `tag`'s slot (its connection and its redis-server process id). */
function owner(tag: string): Promise<{ node: Redis; pid: number }> {
  return clusterMasterOf(client, tag);
}

/** Two budget names whose slots live on different masters. */
async function onTwoNodes(): Promise<{ paused: string; healthy: string; pid: number }> {
  const names = ['pause-a', 'pause-b', 'pause-c', 'pause-d', 'pause-e', 'pause-f', 'pause-g', 'pause-h'];
  const first = await owner(names[0] as string);
  for (const other of names.slice(1)) {
    const o = await owner(other);
    if (o.pid !== first.pid) return { paused: names[0] as string, healthy: other, pid: first.pid };
  }
  throw new Error('every name landed on one node');
}

describe('one paused node of a Redis Cluster', () => {
  it("budgets on the healthy nodes keep admitting (each call a round trip to Redis) while the paused node's budget is refused store-unavailable under onStoreError 'deny'; all admitted usage lands once it resumes", async () => {
    await client.cluster('INFO');
    const { paused, healthy, pid } = await onTwoNodes();
    // No background flush during the test: only the calls' own scripts reach Redis.
    const store = new RedisBudgetStore({ client, keyPrefix: 'pause:', storeTimeoutMs: 300, flushIntervalMs: 10_000, sliceTtlMs: 30_000 });
    // Each call reserves 100,000 tokens, more than a slice keeps after the one before (1/16 of the
    // free room is less): every call asks Redis.
    const { finops, call } = simulated({
      budgetStore: store,
      onStoreError: 'deny',
      estimator: () => 100_000,
      budgets: [
        { name: paused, match: { team: 'p' }, limit: { tokens: 1_000_000 }, window: 'day' },
        { name: healthy, match: { team: 'h' }, limit: { tokens: 1_000_000 }, window: 'day' },
      ],
    });
    const outcome = (team: 'p' | 'h'): Promise<string> =>
      withAttribution({ team }, () => call()).then(
        () => 'admitted',
        (e: unknown) => (isBudgetExceededError(e) ? e.reason : String(e)),
      );
    expect(await outcome('p')).toBe('admitted');
    expect(await outcome('h')).toBe('admitted');
    process.kill(pid, 'SIGSTOP');
    const during: { p: string[]; h: string[] } = { p: [], h: [] };
    let unavailable: boolean | undefined;
    try {
      // The paused node's budget: its script goes unanswered past storeTimeoutMs.
      during.p.push(await outcome('p'));
      // At once after: the healthy node's budget (before: refused, the store had one "Redis down" flag).
      for (let i = 0; i < 5; i++) during.h.push(await outcome('h'));
      // The paused budget again: refused at once (its script is still overdue), the healthy one still admitted.
      during.p.push(await outcome('p'));
      during.h.push(await outcome('h'));
      unavailable = store.stats().unavailable;
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(during).toEqual({ p: ['store-unavailable', 'store-unavailable'], h: Array.from({ length: 6 }, () => 'admitted') });
    // The store says a part of Redis is unreachable while the node is paused.
    expect(unavailable).toBe(true);
    await waitFor('the paused budget to admit again', async () => ((await outcome('p')) === 'admitted' ? true : undefined), 20_000, 100);
    expect(store.stats().unavailable).toBe(false);
    await finops.shutdown();
    // Charged: every admitted call once, on its own budget; refused calls reserved nothing; released: every slice.
    const inRedis = async (budget: string) => {
      const [key] = await (await owner(budget)).node.keys(`pause:{${budget}}:c:*`);
      const [u, l] = await (await owner(budget)).node.hmget(key ?? '', 'u_t', 'l_t');
      return { used: Number(u), leased: Number(l) };
    };
    expect(await inRedis(healthy)).toEqual({ used: 7 * PER_CALL, leased: 0 });
    const pausedUsed = (await inRedis(paused)).used;
    expect(pausedUsed % PER_CALL).toBe(0);
    expect(pausedUsed / PER_CALL).toBeGreaterThanOrEqual(2);
    expect((await inRedis(paused)).leased).toBe(0);
  }, 60_000);

  it("quotas: while one node is paused the healthy node's quota keeps holding calls against Redis, the store reports the paused part unavailable (before: the healthy node's answer cleared the one flag and hid the outage), and shutdown gives the healthy slice back with one script", async () => {
    const { paused, healthy, pid } = await onTwoNodes();
    const store = new RedisQuotaStore({ client, keyPrefix: 'qpause:', storeTimeoutMs: 200, closeTimeoutMs: 1_000, renewIntervalMs: 10_000, sliceTtlMs: 30_000 });
    const spec = (name: string): QuotaSpec => ({ name, limit: { tokens: 10_000, requests: Infinity }, configured: { tokens: 10_000, requests: Infinity }, windowMs: 60_000, floor: 0 });
    const hold = (name: string, id: string, tokens = 100) => Promise.resolve().then(() => store.tryHold({ quota: spec(name), team: '', weight: 1, id, need: { tokens, requests: 1 }, now: Date.now() }));
    expect((await hold(paused, 'p1')).held).toBe(true);
    expect((await hold(healthy, 'h1')).held).toBe(true);
    const node = (await owner(healthy)).node;
    const scripts = async () => {
      const info = await node.info('commandstats');
      return [...info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    };
    process.kill(pid, 'SIGSTOP');
    try {
      // A call needing more room than the slice on the paused node: no answer within storeTimeoutMs (it goes on unchecked).
      await expect(hold(paused, 'p2', 5_000).then((r) => (r.held ? 'held' : 'no room'), () => 'unchecked')).resolves.toBe('unchecked');
      // The healthy node's quota still holds calls against Redis.
      expect((await hold(healthy, 'h2', 5_000)).held).toBe(true);
      expect(store.stats().unavailable).toBe(true);
      const before = await scripts();
      await store.close();
      // Given back: one final script to the healthy node; the paused node's slice returns a window after its TTL.
      expect((await scripts()) - before).toBe(1);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // Held on the healthy quota after shutdown: exactly its two calls' 5,100 tokens (kept one window), the spare room given back.
    const team = await (await owner(healthy)).node.hget(`qpause:{${healthy}}:qt`, '');
    expect(Number(team?.split(' ')[0])).toBe(5_100);
  }, 30_000);
});
