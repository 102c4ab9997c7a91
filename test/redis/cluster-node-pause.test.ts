import { Cluster, type Redis } from 'ioredis';
import { createCluster } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReservationEntry } from '../../src/budgets/index.js';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import type { RedisClientLike } from '../../src/budgets/redis/redis-client.js';
import { isBudgetStoreUnavailableError } from '../../src/errors/budget-store-unavailable-error.js';
import { waitFor } from '../helpers/processes.js';
import { clusterMasterOf, startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { dayEntry, units } from './day-entry.js';

// One node of a real 3-node Redis Cluster frozen (SIGSTOP), shorter than cluster-node-timeout.
// Reachability is per node (found through the client's slots table): the first budget on the
// frozen node pays one storeTimeoutMs, every other budget that node serves is answered
// store-unavailable at once, budgets on the other nodes keep being asked. Before: per budget's
// slot, so each budget on the frozen node sent its own script and waited its own timeout (a node
// holding 1,000 budgets: 1,000 timeouts), and each call after that sent one more script per budget.

let cluster: RedisCluster;
let admin: Cluster;
const open: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  cluster = await startRedisCluster();
  admin = new Cluster(cluster.nodes.map((n) => ({ host: n.host, port: n.port })), { redisOptions: { maxRetriesPerRequest: null } });
  admin.on('error', () => undefined);
  await admin.cluster('INFO');
}, 60_000);
afterAll(async () => {
  for (const close of open.splice(0)) await close().catch(() => undefined);
  admin.disconnect();
  await cluster.stop();
});

/** The master serving `tag`'s slot: its connection and its redis-server process id. */
function owner(tag: string): Promise<{ node: Redis; pid: number }> {
  return clusterMasterOf(admin, tag);
}

/** `count` budget names served by one master (the one to pause) and two served by others. */
async function names(prefix: string, count: number): Promise<{ paused: string[]; healthy: string[]; pid: number }> {
  const pid = (await owner(`${prefix}0`)).pid;
  const paused: string[] = [];
  const healthy: string[] = [];
  for (let i = 0; (paused.length < count || healthy.length < 2) && i < 500; i++) {
    const name = `${prefix}${i}`;
    if ((await owner(name)).pid === pid) {
      if (paused.length < count) paused.push(name);
    } else if (healthy.length < 2) healthy.push(name);
  }
  return { paused, healthy, pid };
}

const entry = (budget: string, amount: number): ReservationEntry => dayEntry(budget, 1_000_000, amount);

const clients: Record<string, () => Promise<RedisClientLike>> = {
  ioredis: () => {
    const c = new Cluster(cluster.nodes.map((n) => ({ host: n.host, port: n.port })), { redisOptions: { maxRetriesPerRequest: null } });
    c.on('error', () => undefined);
    open.push(() => Promise.resolve(c.disconnect()));
    return Promise.resolve(c);
  },
  'node-redis': async () => {
    const c = createCluster({ rootNodes: cluster.nodes.map((n) => ({ url: `redis://${n.host}:${n.port}` })) });
    c.on('error', () => undefined);
    await c.connect();
    open.push(() => Promise.resolve(c.destroy()));
    return c;
  },
};

describe.each(Object.keys(clients))('a paused Cluster node holding many budgets (%s)', (kind) => {
  it('costs one storeTimeoutMs for all its budgets: one timeout, every other budget on it refused at once, the other nodes still admitting; all admitted usage lands once it resumes', async () => {
    const prefix = `np-${kind}-`;
    const { paused, healthy, pid } = await names(prefix, 8);
    const client = await (clients[kind] as () => Promise<RedisClientLike>)();
    const store = new RedisBudgetStore({ client, keyPrefix: 'np:', storeTimeoutMs: 300, flushIntervalMs: 10_000, sliceTtlMs: 30_000 });
    let id = 0;
    const reserve = async (budget: string, amount: number): Promise<string> => {
      const e = entry(budget, amount);
      const n = `c${id++}`;
      try {
        const r = await store.reserve({ id: n, entries: [e], now: Date.now(), leaseMs: 60_000 });
        if (r.admitted) store.commit({ id: n, entries: [{ key: e.key, budget, actual: units(amount), windowEnd: e.windowEnd }], now: Date.now() });
        return r.admitted ? 'admitted' : 'limit';
      } catch (error) {
        return isBudgetStoreUnavailableError(error) ? 'store-unavailable' : String(error);
      }
    };
    // Every budget holds a slice (62,500 tokens: 1/16 of the room) after a first call of 100.
    for (const b of [...paused, ...healthy]) expect(await reserve(b, 100)).toBe('admitted');
    process.kill(pid, 'SIGSTOP');
    const during: string[] = [];
    let stats: ReturnType<RedisBudgetStore['stats']> | undefined;
    try {
      // Each call needs more than its slice holds: Redis must be asked.
      for (const b of paused) during.push(await reserve(b, 200_000));
      for (const b of healthy) during.push(await reserve(b, 200_000));
      for (const b of paused) during.push(await reserve(b, 200_000));
      stats = store.stats();
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(during).toEqual([...paused.map(() => 'store-unavailable'), 'admitted', 'admitted', ...paused.map(() => 'store-unavailable')]);
    // One script went unanswered past storeTimeoutMs (before: 8, one per budget on the node).
    expect(stats?.events.timeouts).toBe(1);
    expect(stats?.unavailable).toBe(true);
    await waitFor('the paused node to answer again', async () => (store.stats().unavailable ? undefined : true), 20_000, 50);
    await waitFor('a paused budget to admit again', async () => ((await reserve(paused[0] as string, 200_000)) === 'admitted' ? true : undefined), 20_000, 100);
    expect(await store.close()).toEqual({ complete: true, undelivered: [] });
    // Charged: the first call on each budget (100), 200,000 on each healthy budget and on the first
    // paused one after the resume; refused calls nothing. Released: every slice.
    const inRedis = async (budget: string) => {
      const { node } = await owner(budget);
      const [key] = await node.keys(`np:{${budget}}:c:*`);
      const [u, l] = await node.hmget(key ?? '', 'u_t', 'l_t');
      return { used: Number(u), leased: Number(l) };
    };
    expect(await inRedis(paused[0] as string)).toEqual({ used: 200_100, leased: 0 });
    for (const b of paused.slice(1)) expect(await inRedis(b)).toEqual({ used: 100, leased: 0 });
    for (const b of healthy) expect(await inRedis(b)).toEqual({ used: 200_100, leased: 0 });
  }, 90_000);
});
