import { Cluster } from 'ioredis';
import { createCluster } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReservationEntry, Units } from '../../src/budgets/index.js';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import { RedisQuotaStore } from '../../src/quotas/index.js';
import type { QuotaSpec } from '../../src/quotas/store.js';
import { waitFor } from '../helpers/processes.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';

// Budget and quota names with braces, unicode, colons and past 1,000 characters on a real
// 3-node Redis Cluster: every script's keys share one slot (no CROSSSLOT), usage lands once,
// slices go back, and finished windows are pruned.

let cluster: RedisCluster;
let io: Cluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
  io = new Cluster(cluster.nodes.map((n) => ({ host: n.host, port: n.port })), { redisOptions: { maxRetriesPerRequest: null } });
  io.on('error', () => undefined);
}, 60_000);
afterAll(async () => {
  await io.quit().catch(() => undefined);
  await cluster.stop();
});

const NAMES = ['a{b}c', '{', '}', '{}', 'x{y}{z}', '}{', 'ü日本:colon:{ü}', '😀{😀}', `${'L'.repeat(1_500)}{long}`, 'plain:name'];
const units = (n: number): Units => ({ tokens: n, inputTokens: n, outputTokens: 0, nanoUsd: 0 });

/** Every key under `prefix` on every master. */
async function keysOf(prefix: string): Promise<string[]> {
  const all: string[] = [];
  for (const node of io.nodes('master')) all.push(...(await node.keys(`${prefix}*`)));
  return all;
}

describe('odd budget and quota names on a real Redis Cluster', () => {
  for (const flavour of ['ioredis', 'node-redis'] as const) {
    it(`${flavour}: budgets named with braces, unicode, colons and 1,500 characters are charged once and pruned (no script fails)`, async () => {
      let client: unknown = io;
      let close = async (): Promise<void> => undefined;
      if (flavour === 'node-redis') {
        const c = createCluster({ rootNodes: cluster.nodes.map((n) => ({ url: `redis://${n.host}:${n.port}` })) });
        c.on('error', () => undefined);
        await c.connect();
        client = c;
        close = async () => { await c.close(); };
      }
      const prefix = `names-${flavour}:`;
      const store = new RedisBudgetStore({ client: client as never, keyPrefix: prefix, retainMs: 500, flushIntervalMs: 100, sliceFraction: 0.0001 });
      try {
        const now = Date.now();
        for (const [i, budget] of NAMES.entries()) {
          // A window ending at once, so it is pruned retainMs later; per-value counters (a team value with braces too).
          for (const team of ['t{1}', 't2']) {
            const e: ReservationEntry = { key: `${budget}\u0001team=${team}\u0001${now}`, budget, limits: { tokens: 1_000 }, amounts: units(10), enforce: true, windowEnd: now + 300 };
            const r = await store.reserve({ id: `${flavour}${i}${team}`, entries: [e], now, leaseMs: 60_000 });
            expect(r.admitted).toBe(true);
            store.commit({ id: `${flavour}${i}${team}`, entries: [{ key: e.key, budget, actual: units(10), windowEnd: e.windowEnd }], now });
          }
        }
        const read = await store.read(NAMES.map((budget) => ({ key: `${budget}\u0001team=t{1}\u0001${now}`, budget, windowEnd: now + 300 })), Date.now());
        expect(read.map((s) => s.used.tokens)).toEqual(NAMES.map(() => 10));
        // 2 counters (hash and holder set) per name and team, one window index and one marker per name.
        expect((await keysOf(prefix)).length).toBe(NAMES.length * 6);
        // The windows end, the slices go back, and the prune deletes every counter (the budget's marker stays).
        await waitFor('finished windows to be pruned', async () => ((await keysOf(prefix)).every((k) => k.endsWith(':w') || k.endsWith(':m')) ? true : undefined), 20_000, 100);
        expect(store.stats()).toMatchObject({ unavailable: false, events: { errors: 0, timeouts: 0 } });
      } finally {
        await store.close();
        await close();
      }
    });
  }

  it('quotas named with braces, unicode and 1,500 characters each hold their own room (no script fails)', async () => {
    const store = new RedisQuotaStore({ client: io, keyPrefix: 'qnames:' });
    try {
      for (const [i, name] of NAMES.entries()) {
        const q: QuotaSpec = { name, limit: { tokens: 1_000, requests: Infinity }, configured: { tokens: 1_000, requests: Infinity }, windowMs: 60_000, floor: 0 };
        let held = 0;
        for (let k = 0; k < 12; k++) if ((await store.tryHold({ quota: q, team: 'x{y}', weight: 1, id: `q${i}-${k}`, need: { tokens: 100, requests: 1 }, now: Date.now() })).held) held++;
        // 10 of 12 fit each quota's own 1,000 tokens (names that once shared a tag would share them).
        expect(held).toBe(10);
      }
      expect(store.stats()).toMatchObject({ unavailable: false, events: { errors: 0, timeouts: 0 } });
    } finally {
      await store.close();
    }
  });
});
