import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import { LEASE, READ } from '../../src/budgets/redis/scripts.js';
import { waitFor } from '../helpers/processes.js';
import { useRedis } from './use-redis.js';
import { budgetInRedis, sleep } from './fleet-fixture.js';
import { dayCall, dayEntry, type DayCallOutcome } from './day-entry.js';

// A rolling deploy: processes of the release before provisional counters (lease script without
// `pv`, answering no lost usage) and of this one share counters. Old processes ignore `pv` (they
// lease full slices on a counter they create, as they always did); new ones find no `pv` on a
// counter an old one created and lease full slices too. What must hold across versions: every
// call counted once, nothing admitted past the limit, nothing left leased, and a loss found by an
// old live process still written back as a floor that new processes count.

/** The shared Lua prelude of the store's scripts (the longest common prefix of two of them, to a line). */
const COMMON = ((a: string, b: string) => {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return a.slice(0, a.lastIndexOf('\n', i - 1) + 1);
})(LEASE.source, READ.source);
/** The lease script of the release before (git 2fecd93), verbatim after the prelude. */
const OLD_LEASE = `${COMMON}local c, z, w = KEYS[1], KEYS[2], KEYS[3]
local h, seq = ARGV[1], tonumber(ARGV[2])
local ttl, forget, final, fraction = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5] == '1', tonumber(ARGV[6])
local now = now_ms()
sweep(c, z, now, forget)
local rec = redis.call('HGET', c, 'h:' .. h)
if not rec and ARGV[7] ~= 'inf' then redis.call('ZADD', w, 'NX', ARGV[7], ARGV[8]) end
local v = rec and parse(rec) or {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
local s = counter(c)
local lost = not rec and ARGV[33] == '1' and (ARGV[7] == 'inf' or num(ARGV[7]) > now)
if lost then redis.call('HSET', c, 'rcv', string.format('%d', now + math.floor(ttl / 2))) end
local recovering = tonumber(redis.call('HGET', c, 'rcv') or '0') > now
local F, Q = {'f_t', 'f_i', 'f_o', 'f_c'}, {'q_t', 'q_i', 'q_o', 'q_c'}
local fq, gone = redis.call('HMGET', c, 'f_t', 'f_i', 'f_o', 'f_c', 'q_t', 'q_i', 'q_o', 'q_c'), {}
for k = 1, 4 do
  local floor, back, seen = tonumber(fq[k] or '0'), tonumber(fq[4 + k] or '0'), num(ARGV[28 + k])
  if seen > floor and seen > s[k] then
    floor = seen
    redis.call('HSET', c, F[k], string.format('%d', seen))
  end
  if lost and num(ARGV[33 + k]) > 0 then
    back = back + num(ARGV[33 + k])
    redis.call('HSET', c, Q[k], string.format('%d', back))
  end
  gone[k] = math.max(0, floor - back)
end
local status = 1
if seq <= v[1] then
  status = 0
else
  local room = {}
  for k = 1, 4 do
    local b = 8 + (k - 1) * 5
    local d = num(ARGV[b + 2]) - v[6 + k]
    if d > 0 then
      s[k] = incr(c, U[k], d)
      v[6 + k] = v[6 + k] + d
    end
    if ARGV[b + 1] ~= '' then
      room[k] = num(ARGV[b + 1]) - math.max(s[k] + gone[k], num(ARGV[28 + k])) - (s[4 + k] - v[2 + k]) - num(ARGV[b + 3])
      if room[k] < num(ARGV[b + 4]) then status = 2 end
    end
  end
  if recovering and status == 1 then status = 3 end
  local holds = false
  for k = 1, 4 do
    local b = 8 + (k - 1) * 5
    local g = 0
    if ARGV[b + 1] ~= '' then
      local extra = 0
      if status == 1 then
        local free = math.max(room[k], 0)
        extra = math.min(free, math.max(num(ARGV[b + 5]), math.floor(free * fraction)))
      end
      g = num(ARGV[b + 3]) + extra
    end
    if g ~= v[2 + k] then s[4 + k] = incr(c, L[k], g - v[2 + k]) end
    v[2 + k] = g
    if g ~= 0 then holds = true end
  end
  v[1] = seq
  v[11] = forget
  if final and not holds then
    v[2] = 0
    redis.call('ZADD', z, now + forget, h)
  else
    v[2] = 1
    redis.call('ZADD', z, now + ttl, h)
  end
  redis.call('HSET', c, 'h:' .. h, pack(v))
end
local out = { status }
for k = 1, 8 do out[#out + 1] = s[k] end
for k = 1, 4 do out[#out + 1] = v[6 + k] end
for k = 1, 4 do out[#out + 1] = v[2] == 1 and v[2 + k] or 0 end
out[#out + 1] = lost and 1 or 0
return out
`;
const OLD_LEASE_SHA = '1acf38aab17f1379d05b5959c164d46df6644c74';

const LIMIT = 20_000;
const CALL = 100;
const settings = { flushIntervalMs: 50, sliceTtlMs: 30_000, idempotencyMs: 120_000, idleReturnMs: 600_000, closeTimeoutMs: 10_000 };

const redis = useRedis(['--appendonly', 'no']);
const client = (): Redis => redis.client();

/** The old lease answered 18 values; today's client reads 4 more (lost usage): an old process knew none, so 0. */
const padded = (reply: unknown): unknown => (Array.isArray(reply) && reply.length === 18 ? [...(reply as unknown[]), 0, 0, 0, 0] : reply);

/** A client on which the store's lease script runs as the old release's (by SHA, or by text after NOSCRIPT). */
function oldClient(): Redis {
  const real = client();
  return new Proxy(real, {
    get(target, prop, receiver) {
      if (prop === 'evalsha')
        return async (sha: string, numKeys: number, ...rest: (string | number)[]) => (sha === LEASE.sha ? padded(await target.evalsha(OLD_LEASE_SHA, numKeys, ...rest)) : target.evalsha(sha, numKeys, ...rest));
      if (prop === 'eval')
        return async (source: string, numKeys: number, ...rest: (string | number)[]) => (source === LEASE.source ? padded(await target.eval(OLD_LEASE, numKeys, ...rest)) : target.eval(source, numKeys, ...rest));
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const call = (store: RedisBudgetStore, budget: string, limit = LIMIT): Promise<DayCallOutcome> => dayCall(store, budget, limit, CALL);
/** Calls `concurrency` at a time until one is not admitted in each lane; returns how many were admitted. */
async function race(store: RedisBudgetStore, budget: string, concurrency: number, limit = LIMIT): Promise<number> {
  let admitted = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while ((await call(store, budget, limit)) === 'admitted') admitted++;
    }),
  );
  return admitted;
}
const flushed = (store: RedisBudgetStore) => waitFor('the store to flush', async () => (store.stats().pendingCommits === 0 ? true : undefined), 10_000, 10);

describe('a fleet mixing the lease script before provisional counters and this one', () => {
  it('is the old script, verbatim', () => {
    expect(createHash('sha1').update(OLD_LEASE).digest('hex')).toBe(OLD_LEASE_SHA);
  });

  it('counts every call once and admits nothing past the limit when old and new processes race one counter', async () => {
    const old = new RedisBudgetStore({ client: oldClient(), keyPrefix: 'mixed:', ...settings });
    const next = new RedisBudgetStore({ client: client(), keyPrefix: 'mixed:', ...settings });
    // The old process creates the counter (no pv), then both race it, 10 calls in flight each.
    expect(await call(old, 'race')).toBe('admitted');
    const [key] = await client().keys('mixed:{race}:c:*');
    expect(await client().hexists(key ?? '', 'pv')).toBe(0);
    const [a, b] = await Promise.all([race(old, 'race', 10), race(next, 'race', 10)]);
    expect(await old.close()).toEqual({ complete: true, undelivered: [] });
    expect(await next.close()).toEqual({ complete: true, undelivered: [] });
    const admitted = (1 + a + b) * CALL;
    // Charged: every admitted call once, at most the limit; released: every slice.
    expect(await budgetInRedis(redis.server.url, 'mixed:', 'race')).toEqual({ used: admitted, leased: 0, counters: 1 });
    expect(admitted).toBeLessThanOrEqual(LIMIT);
    expect(admitted).toBeGreaterThanOrEqual(LIMIT * 0.9);
    expect(b).toBeGreaterThan(0);
  });

  it('after a loss found by an old live process, new processes count the usage it writes back', async () => {
    // A slice TTL of 3 s: the counter recovers (and stops being provisional) 1.5 s after the loss.
    const old = new RedisBudgetStore({ client: oldClient(), keyPrefix: 'mixed-loss:', ...settings, sliceTtlMs: 3_000 });
    const next = new RedisBudgetStore({ client: client(), keyPrefix: 'mixed-loss:', ...settings, sliceTtlMs: 3_000 });
    // The old process: 950 calls of 100, 95,000 of a 100,000 limit, flushed; its slice stays live.
    const limit = 100_000;
    for (let i = 0; i < 950; i++) expect(await call(old, 'loss', limit)).toBe('admitted');
    await flushed(old);
    const before = await budgetInRedis(redis.server.url, 'mixed-loss:', 'loss');
    expect(before.used).toBe(95_000);
    await client().flushall();
    // The new process asks first: its counter is provisional (a sixteenth of the usual slice).
    expect(await call(next, 'loss', limit)).toBe('admitted');
    await flushed(next);
    // The old process commits one call: its flush finds the loss and writes back what it saw (95,000 as a floor).
    expect(await call(old, 'loss', limit)).toBe('admitted');
    await waitFor('the old process to find the loss', async () => ((old.stats().events.counters_lost ?? 0) > 0 ? true : undefined), 10_000, 10);
    await flushed(old);
    // status() in the new process counts what admission counts: 95,000 + 100 + 100 at least.
    const seen = (await next.read([{ key: dayEntry('loss', limit, CALL).key, budget: 'loss' }], Date.now()))[0]?.used.tokens ?? 0;
    expect(seen).toBeGreaterThanOrEqual(95_200);
    // Once the counter has recovered, both race it to the limit, 5 calls in flight each.
    await sleep(2_000);
    const [nAfter, oAfter] = await Promise.all([race(next, 'loss', 5, limit), race(old, 'loss', 5, limit)]);
    expect(await old.close()).toEqual({ complete: true, undelivered: [] });
    expect(await next.close()).toEqual({ complete: true, undelivered: [] });
    const admitted = (950 + 1 + 1 + nAfter + oAfter) * CALL;
    // Charged: every call once (the old process's 95,000 reported again as its holder's running total); released: every slice.
    expect(await budgetInRedis(redis.server.url, 'mixed-loss:', 'loss')).toEqual({ used: admitted, leased: 0, counters: 1 });
    // Admitted: at most the limit plus the old process's slice at the loss.
    expect(admitted).toBeLessThanOrEqual(limit + before.leased);
    expect(nAfter + oAfter).toBeGreaterThan(0);
  });
});
