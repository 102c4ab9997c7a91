import { Cluster } from 'ioredis';
import { createCluster } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import type { ReservationEntry } from '../../src/budgets/index.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { describeStoreContract } from '../shared/store-contract.js';

let cluster: RedisCluster;
const clients: { close: () => Promise<unknown> }[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(async () => {
  for (const c of clients) await c.close();
  await cluster.stop();
});

function ioCluster(): Cluster {
  const client = new Cluster(cluster.nodes.map((n) => ({ host: n.host, port: n.port })));
  clients.push({ close: () => client.quit() });
  return client;
}

describeStoreContract('redis cluster (ioredis)', () => new RedisBudgetStore({ client: ioCluster(), keyPrefix: 'cl-io:' }));

describeStoreContract('redis cluster (node-redis)', async () => {
  const client = createCluster({ rootNodes: cluster.nodes.map((n) => ({ url: `redis://${n.host}:${n.port}` })) });
  await client.connect();
  clients.push({ close: () => client.close() });
  return new RedisBudgetStore({ client, keyPrefix: 'cl-node:' });
});

describe('keys on Redis Cluster', () => {
  it("keeps each budget's keys in one slot and spreads different budgets over the cluster", async () => {
    const client = ioCluster();
    const store = new RedisBudgetStore({ client, keyPrefix: 'spread:' });
    const now = Date.now();
    const budgets = ['search', 'chat', 'batch', 'eval', 'ingest', 'support', 'ads', 'ops'];
    const entries: ReservationEntry[] = budgets.map((budget) => ({
      key: `${budget}\u0001\u0001${now}`,
      budget,
      limits: { tokens: 1_000 },
      amounts: { tokens: 10, inputTokens: 10, outputTokens: 0, nanoUsd: 0 },
      enforce: true,
      windowEnd: now + 60_000,
    }));
    // One call matching every budget: one script per budget, each within its own slot.
    expect((await store.reserve({ id: 'spread-1', entries, now, leaseMs: 60_000 })).admitted).toBe(true);
    await store.close();
    const slots = new Map<string, Set<number>>();
    for (const node of client.nodes('master')) {
      for (const key of await node.keys('spread:*')) {
        const tag = /\{([^}]+)\}/.exec(key)?.[1] ?? '';
        const slot = await node.cluster('KEYSLOT', key);
        slots.set(tag, (slots.get(tag) ?? new Set()).add(slot));
      }
    }
    expect([...slots.keys()].sort()).toEqual([...budgets].sort());
    for (const s of slots.values()) expect(s.size).toBe(1);
    expect(new Set([...slots.values()].map((s) => [...s][0])).size).toBe(budgets.length);
    const nodesWithKeys = (await Promise.all(client.nodes('master').map(async (n) => (await n.keys('spread:*')).length))).filter((n) => n > 0);
    expect(nodesWithKeys.length).toBeGreaterThan(1);
  });
});
