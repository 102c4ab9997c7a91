import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBudgetExceededError } from '../../src/index.js';
import type { ReservationEntry, Units } from '../../src/budgets/index.js';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import { isBudgetStoreUnavailableError } from '../../src/errors/budget-store-unavailable-error.js';
import { RedisQuotaStore } from '../../src/quotas/index.js';
import type { QuotaSpec } from '../../src/quotas/store.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { simulated } from '../helpers/simulated-finops.js';
import { budgetInRedis, PER_CALL } from './fleet-fixture.js';

// Redis ACL users that may not run EVALSHA (a managed Redis with a locked-down role, `-evalsha`):
// the stores send their scripts with EVAL instead, and keep doing so, so budgets and quotas hold.

let server: RedisServer;
let admin: Redis;
const closers: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  server = await startRedis();
  admin = new Redis(server.url);
  // May run every command but EVALSHA; may run EVAL.
  await admin.acl('SETUSER', 'noevalsha', 'on', '>secret', '~*', '&*', '+@all', '-evalsha', '-evalsha_ro');
  // May run no script at all.
  await admin.acl('SETUSER', 'noscripts', 'on', '>secret', '~*', '&*', '+@all', '-@scripting');
});
afterAll(async () => {
  for (const close of closers.splice(0)) await close().catch(() => undefined);
  admin.disconnect();
  await server.stop();
});

function ioUser(username: string): Redis {
  const c = new Redis(server.port, '127.0.0.1', { username, password: 'secret', maxRetriesPerRequest: null });
  c.on('error', () => undefined);
  closers.push(() => c.quit());
  return c;
}

/** Times the server refused EVALSHA (ACL) and ran EVAL, from `INFO commandstats`. */
async function scriptStats(): Promise<{ evalshaRejected: number; evalCalls: number }> {
  const info = await admin.info('commandstats');
  return {
    evalshaRejected: Number(/^cmdstat_evalsha:.*rejected_calls=(\d+)/m.exec(info)?.[1] ?? 0),
    evalCalls: Number(/^cmdstat_eval:calls=(\d+)/m.exec(info)?.[1] ?? 0),
  };
}

const tokens = (n: number): Units => ({ tokens: n, inputTokens: n, outputTokens: 0, nanoUsd: 0 });
const DAY = 86_400_000;
function entry(budget: string, limit: number, amount: number, now = Date.now()): ReservationEntry {
  const start = now - (now % DAY);
  return { key: `${budget}\u0001\u0001${start}`, budget, limits: { tokens: limit }, amounts: tokens(amount), enforce: true, windowEnd: start + DAY };
}

describe('an ACL user that may not run EVALSHA', () => {
  it("budgets through ioredis: 20 calls under onStoreError 'deny' are admitted and charged once each (before: every script failed NOPERM and all 20 were refused store-unavailable)", async () => {
    await admin.config('RESETSTAT');
    const store = new RedisBudgetStore({ client: ioUser('noevalsha'), keyPrefix: 'acl-io:' });
    const { finops, call } = simulated({ budgetStore: store, onStoreError: 'deny', budgets: [{ name: 'acl', limit: { tokens: 100 * PER_CALL }, window: 'day' }] });
    let admitted = 0;
    const refused: string[] = [];
    for (let i = 0; i < 20; i++) {
      try {
        await call();
        admitted++;
      } catch (error) {
        refused.push(isBudgetExceededError(error) ? error.reason : String(error));
      }
    }
    expect(refused).toEqual([]);
    expect(admitted).toBe(20);
    await finops.shutdown();
    expect(store.stats().events.errors).toBe(0);
    // Charged: the 20 calls, once each; released: the whole slice.
    expect(await budgetInRedis(server.url, 'acl-io:', 'acl')).toEqual({ used: 20 * PER_CALL, leased: 0, counters: 1 });
    // EVALSHA is refused only for the scripts sent before the first refusal came back (the first
    // lease and the eviction-policy check); every later script goes straight to EVAL.
    const stats = await scriptStats();
    expect(stats.evalshaRejected).toBeGreaterThan(0);
    expect(stats.evalshaRejected).toBeLessThanOrEqual(2);
    expect(stats.evalCalls).toBeGreaterThanOrEqual(2);
  });

  it('budgets through node-redis: a reservation over the limit is still refused for the limit, and what fits is committed', async () => {
    const client = createClient({ url: `redis://noevalsha:secret@127.0.0.1:${server.port}` });
    client.on('error', () => undefined);
    await client.connect();
    closers.push(() => client.close());
    const store = new RedisBudgetStore({ client, keyPrefix: 'acl-node:' });
    const now = Date.now();
    const fits = entry('acl', 1_000, 600, now);
    expect((await store.reserve({ id: 'n1', entries: [fits], now, leaseMs: 60_000 })).admitted).toBe(true);
    store.commit({ id: 'n1', entries: [{ key: fits.key, budget: 'acl', actual: tokens(600), windowEnd: fits.windowEnd }], now });
    const over = await store.reserve({ id: 'n2', entries: [entry('acl', 1_000, 600, now)], now, leaseMs: 60_000 });
    expect(over.admitted).toBe(false);
    expect(over.rejected?.field).toBe('tokens');
    expect(await store.close()).toEqual({ complete: true, undelivered: [] });
    // Charged: the 600 tokens of n1; n2 reserved nothing; released: the slice.
    expect(await budgetInRedis(server.url, 'acl-node:', 'acl')).toEqual({ used: 600, leased: 0, counters: 1 });
  });

  it('quotas: calls are held against Redis (a slice is leased and given back), not let through unchecked after a NOPERM error', async () => {
    const store = new RedisQuotaStore({ client: ioUser('noevalsha'), keyPrefix: 'acl-q:' });
    const q: QuotaSpec = { name: 'acl', limit: { tokens: 1_000, requests: Infinity }, configured: { tokens: 1_000, requests: Infinity }, windowMs: 60_000, floor: 0 };
    let held = 0;
    for (let i = 0; i < 15; i++) if ((await store.tryHold({ quota: q, team: '', weight: 1, id: `q${i}`, need: { tokens: 100, requests: 1 }, now: Date.now() })).held) held++;
    // Held: the 10 calls that fit a 1,000-token quota (100 each, none settled); the other 5 answered "no room now".
    expect(held).toBe(10);
    expect(store.stats()).toMatchObject({ unavailable: false, events: { errors: 0 } });
    const [team] = Object.values(await admin.hgetall('acl-q:{acl}:qt'));
    expect(Number(team?.split(' ')[0])).toBe(1_000);
    await store.close();
  });

  it('a user that may run no script at all: the budget store answers store-unavailable (onStoreError applies), it does not hang or throw anything else', async () => {
    const store = new RedisBudgetStore({ client: ioUser('noscripts'), keyPrefix: 'acl-none:', closeTimeoutMs: 200 });
    const now = Date.now();
    await expect(store.reserve({ id: 'x1', entries: [entry('none', 1_000, 10, now)], now, leaseMs: 60_000 })).rejects.toSatisfy(isBudgetStoreUnavailableError);
    expect(store.stats()).toMatchObject({ unavailable: true });
    expect(store.stats().events.errors).toBeGreaterThan(0);
    await store.close();
  });
});
