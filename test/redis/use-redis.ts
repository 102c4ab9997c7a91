import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

/**
 * A redis-server for one test file, started before its tests and stopped after them (`args`:
 * extra server options), and its ioredis clients: each retries without limit, ignores error
 * events (tests pause, flush and restart the server), and is disconnected after the file's tests.
 */
export function useRedis(args: readonly string[] = []): { readonly server: RedisServer; client(): Redis } {
  let server: RedisServer | undefined;
  const open: Redis[] = [];
  beforeAll(async () => {
    server = await startRedis(args);
  });
  afterAll(async () => {
    for (const c of open.splice(0)) c.disconnect();
    await server?.stop();
  });
  return {
    get server(): RedisServer {
      if (server === undefined) throw new Error('the redis-server is started before the tests');
      return server;
    },
    client(): Redis {
      const c = new Redis(this.server.url, { maxRetriesPerRequest: null });
      c.on('error', () => undefined);
      open.push(c);
      return c;
    },
  };
}
