import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RedisQuotaStore, type QuotaRule } from '../../src/quotas/index.js';
import { until } from '../helpers/budgeted.js';
import { burst, burstCall, GOVERNOR_NEED, quotaClient, quotaSimulator, SIM_NEED } from '../helpers/quota-burst.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

/**
 * The Redis quota store admits locally within its slice, against what this process has in use
 * (held plus charged in its own window). Its window and holds run on the quota clock, so the wall
 * clock set forward does not empty them: before, a step of 20 minutes let the process fill its
 * slice again at once, beside what Bedrock still counted. Redis dates slices by its own TIME
 * (one clock for the fleet), which this process's wall clock does not touch.
 */
let server: RedisServer;
const clients: Redis[] = [];
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await server.stop();
});
afterEach(() => {
  vi.restoreAllMocks();
});

const MINUTE = 60_000;
// Room for 10 calls, settled (charged SIM_NEED each) or in flight (held GOVERNOR_NEED each), not for an 11th.
const QUOTA = 10 * SIM_NEED + GOVERNOR_NEED - 1;
const rule: QuotaRule = { name: 'sonnet', match: { model: 'anthropic.claude-sonnet-4*' }, tokensPerMinute: QUOTA, windowMs: MINUTE, onLimit: 'reject' };

describe('the Redis quota store when the wall clock steps forward 20 minutes with calls in flight', () => {
  it('what was charged and held before the step still counts against the slice: the next 10 calls are refused, none throttled', async () => {
    const c = new Redis(server.url, { maxRetriesPerRequest: null });
    clients.push(c);
    const engine = quotaSimulator(QUOTA, MINUTE, { latencyMs: 500, now: () => performance.now() });
    const { client, finops } = quotaClient(engine, { quotaStore: new RedisQuotaStore({ client: c, keyPrefix: 'jump:' }), quotas: [rule] });
    const status = () => finops?.quotas.status()[0];
    expect(await burst(5, () => burstCall(client))).toEqual({ served: 5, refused: 0, throttled: 0, failed: 0 });
    const inFlight = burst(5, () => burstCall(client));
    await until(() => status()?.inUse.requests === 10);
    // Charged: 5 settled calls; held: 5 in flight.
    expect(status()?.inUse).toEqual({ tokens: 5 * SIM_NEED + 5 * GOVERNOR_NEED, requests: 10 });
    const real = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => real() + 20 * MINUTE);
    // Before: the local window was empty and the holds released, and the slice let 10 through: 9 throttled.
    expect(await burst(10, () => burstCall(client))).toEqual({ served: 0, refused: 10, throttled: 0, failed: 0 });
    expect(engine.stats.throttled).toBe(0);
    expect(await inFlight).toEqual({ served: 5, refused: 0, throttled: 0, failed: 0 });
    // Settled: the holds released, each call charged what the simulator counted; the fleet leased no more than the quota.
    expect(status()?.inUse).toEqual({ tokens: 10 * SIM_NEED, requests: 10 });
    expect(status()?.leased?.tokens).toBeLessThanOrEqual(QUOTA);
    await finops?.shutdown();
  });
});
