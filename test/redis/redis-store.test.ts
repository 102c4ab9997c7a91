import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isConfigurationError } from '../../src/index.js';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import { COMMIT_SCRIPT, COMMIT_SHA, READ_SCRIPT, READ_SHA, RESERVE_SCRIPT, RESERVE_SHA } from '../../src/budgets/redis/scripts.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { describeStoreContract } from '../shared/store-contract.js';

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
  return new RedisBudgetStore({ client, keyPrefix: 'test:{io}:' });
});

describeStoreContract('redis (node-redis)', async () => {
  const client = createClient({ url: server.url });
  await client.connect();
  clients.push({ close: () => client.quit() });
  return new RedisBudgetStore({ client, keyPrefix: 'test:{node}:' });
});

describe('redis scripts', () => {
  it('pins the SHA-1 of each Lua script', () => {
    const sha = (s: string) => createHash('sha1').update(s).digest('hex');
    expect(sha(RESERVE_SCRIPT)).toBe(RESERVE_SHA);
    expect(sha(COMMIT_SCRIPT)).toBe(COMMIT_SHA);
    expect(sha(READ_SCRIPT)).toBe(READ_SHA);
  });

  it('loads a script with EVAL when the server answers NOSCRIPT, then runs it by SHA', async () => {
    const client = new Redis(server.url);
    try {
      await client.script('FLUSH');
      const store = new RedisBudgetStore({ client, keyPrefix: 'test:{noscript}:' });
      expect(await store.read([{ key: 'k', budget: 'k' }], Date.now())).toHaveLength(1);
      const exists = (await client.script('EXISTS', READ_SHA)) as number[];
      expect(exists).toEqual([1]);
    } finally {
      await client.quit();
    }
  });

  it('keeps every key in one Cluster slot, expires window keys, and rejects a prefix without a hash tag', async () => {
    const client = new Redis(server.url);
    try {
      const store = new RedisBudgetStore({ client, keyPrefix: 'test:{slot}:' });
      const now = Date.now();
      const windowEnd = now + 60_000;
      await store.reserve({ id: 'r1', entries: [{ key: 'k1', budget: 'b', limits: { tokens: 10 }, amounts: { tokens: 1, inputTokens: 1, outputTokens: 0, nanoUsd: 0 }, enforce: true, windowEnd }], now, leaseMs: 1000 });
      const keys = await client.keys('test:{slot}:*');
      expect(keys.length).toBeGreaterThanOrEqual(3);
      // Redis Cluster hashes only the part inside the first {…}: one tag, one slot.
      expect(new Set(keys.map((k) => /\{([^}]+)\}/.exec(k)?.[1]))).toEqual(new Set(['slot']));
      const ttl = await client.pexpiretime(keys.find((k) => k.includes(':c:'))!);
      expect(ttl).toBe(windowEnd + 86_400_000);
    } finally {
      await client.quit();
    }
    let caught: unknown;
    try {
      new RedisBudgetStore({ client: new Redis({ lazyConnect: true }), keyPrefix: 'no-tag:' });
    } catch (e) {
      caught = e;
    }
    expect(isConfigurationError(caught)).toBe(true);
  });
});
