import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isConfigurationError } from '../../src/index.js';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
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
  return new RedisBudgetStore({ client, keyPrefix: 'test:io:' });
});

describeStoreContract('redis (node-redis)', async () => {
  const client = createClient({ url: server.url });
  await client.connect();
  clients.push({ close: () => client.quit() });
  return new RedisBudgetStore({ client, keyPrefix: 'test:node:' });
});
