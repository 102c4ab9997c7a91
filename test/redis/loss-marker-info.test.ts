import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import { useRedis } from './use-redis.js';
import { budgetInRedis, sleep } from './fleet-fixture.js';
import { dayEntry, entryCall, tenantEntry, type DayCallOutcome } from './day-entry.js';

// The marker (`…{budget}:m`, '<ms> <run_id>') records the server run a lease script found: the
// script reads `run_id` with INFO. A common locked-down ACL user (`+@all -@dangerous`) may not run
// INFO; its scripts read no run. Before, such a process took every marker another run (any
// process allowed INFO) had set for a restart and set it again, and the other process did the
// same in turn: in a fleet mixing the two users every new counter was provisional (a sixteenth of
// a slice; past provisionalCapFraction, onStoreError), and each script that ran INFO without the
// permission added to the server's ACL LOG and NOPERM error count.

const LIMIT = 1_000_000;
// A tenant's first call needs 10% of the limit: more than a provisional counter may hold (5%).
const CALL = 100_000;
const settings = { flushIntervalMs: 50, sliceTtlMs: 2_000, idempotencyMs: 120_000, idleReturnMs: 600_000, closeTimeoutMs: 10_000, provisionalCapFraction: 0.05 };

const redis = useRedis(['--appendonly', 'no']);

/** A client of the ACL user `noinfo` (every command but @dangerous: INFO among them). */
async function noInfoClient(admin: Redis): Promise<Redis> {
  await admin.acl('SETUSER', 'noinfo', 'on', '>secret', '~*', '&*', '+@all', '-@dangerous');
  const c = new Redis(redis.server.url, { username: 'noinfo', password: 'secret', maxRetriesPerRequest: null, enableReadyCheck: false });
  c.on('error', () => undefined);
  return c;
}

/** How many times the ACL refused INFO (the ACL LOG's entries, each counting its repeats). */
async function refusedInfo(admin: Redis): Promise<number> {
  const log = (await admin.acl('LOG')) as readonly (readonly unknown[])[];
  let refused = 0;
  for (const entry of log) {
    const at = (name: string): unknown => entry[entry.indexOf(name) + 1];
    if (at('object') === 'info') refused += Number(at('count'));
  }
  return refused;
}

const call = (store: RedisBudgetStore, tenant: string, amount = CALL): Promise<DayCallOutcome> => entryCall(store, tenantEntry(dayEntry('mix', LIMIT, amount), tenant));

describe('a fleet mixing users allowed INFO and users not', () => {
  it("gives new tenants of a budget in use full slices, whoever creates them, and is not refused INFO by them", async () => {
    const admin = redis.client();
    const withInfo = new RedisBudgetStore({ client: redis.client(), keyPrefix: 'mi:', ...settings });
    const noInfoRedis = await noInfoClient(admin);
    const noInfo = new RedisBudgetStore({ client: noInfoRedis, keyPrefix: 'mi:', ...settings });
    await admin.acl('LOG', 'RESET');
    // The budget in use (a first use is provisional: a small call): its marker set, then older than half a slice TTL.
    expect(await call(withInfo, 'tenant-0', 1_000)).toBe('admitted');
    await sleep(1_200);
    // New tenants, alternately from either process: each a new counter of a budget in use.
    const outcomes: DayCallOutcome[] = [];
    for (let i = 1; i <= 4; i++) outcomes.push(await call(i % 2 === 1 ? noInfo : withInfo, `tenant-${i}`));
    // Before: ['unavailable', 'unavailable', 'unavailable', 'unavailable'] (each marker set anew,
    // each new counter provisional and capped at 50,000 of 1,000,000); now all admitted.
    expect(outcomes).toEqual(['admitted', 'admitted', 'admitted', 'admitted']);
    // INFO refused to the no-INFO user: once, its store's advisory eviction-policy check; before,
    // also each of its lease scripts creating a counter (3 in all).
    expect(await refusedInfo(admin)).toBe(1);
    expect(await withInfo.close()).toEqual({ complete: true, undelivered: [] });
    expect(await noInfo.close()).toEqual({ complete: true, undelivered: [] });
    // Charged: the admitted calls (1,000 then 4 × 100,000); released: every slice.
    expect(await budgetInRedis(redis.server.url, 'mi:', 'mix')).toEqual({ used: 1_000 + 4 * CALL, leased: 0, counters: 5 });
  });
});
