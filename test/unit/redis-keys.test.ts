import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { isConfigurationError } from '../../src/index.js';
import { RedisBudgetStore } from '../../src/budgets/redis/index.js';
import { budgetTag, KeySpace, quotaKeys } from '../../src/budgets/redis/keys.js';
import { RedisQuotaStore } from '../../src/quotas/index.js';

/** What Redis Cluster hashes of a key: the first `{…}` with something inside, else the whole key. */
function hashed(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  return close <= open + 1 ? key : key.slice(open + 1, close);
}

/** A client the stores accept that is never called (construction only). */
const idle = { evalsha: () => Promise.resolve(null), eval: () => Promise.resolve(null) };

function thrown(make: () => unknown): unknown {
  try {
    const store = make() as { close?: () => Promise<unknown> };
    void store.close?.();
  } catch (error) {
    return error;
  }
  return undefined;
}

const BUDGETS = ['search', 'chat', 'a{b}c', 'a_b_c', 'a{b_c', '{', '_', '}{', '{}', '__', 'x y', 'ünïcode', 'a:b'];

describe('Redis key layout (one slot per budget and per quota)', () => {
  for (const prefix of ['bedrock-finops:', '', 'prod:eu:', 'ünï:']) {
    it(`with keyPrefix ${JSON.stringify(prefix)}, every key of one budget or quota hashes to its own tag, and different tags never meet`, () => {
      const keys = new KeySpace(prefix);
      const tags = new Map<string, string>();
      for (const budget of BUDGETS) {
        const k = keys.of(budget, `${budget}\u0001tenant-{1}\u00011700000000000`);
        const all = [k.counter, k.holders, k.windows, k.marker, keys.windows(budget), ...quotaKeys(prefix, budget)];
        expect(new Set(all.map(hashed)), budget).toEqual(new Set([budgetTag(budget)]));
        tags.set(budgetTag(budget), budget);
      }
      // Every name has its own tag (before: names that differed only by braces shared one, and two such quotas one Redis state).
      expect(tags.size).toBe(BUDGETS.length);
    });
  }

  it('keeps the tag of a name without braces as it always was (existing keys stay where they are)', () => {
    for (const name of ['search', 'chat-hourly', 'x y', 'ünïcode', 'a:b', '_']) expect(budgetTag(name)).toBe(name);
    expect(new KeySpace('bedrock-finops:').of('search', 'c1').counter).toBe('bedrock-finops:{search}:c:c1');
  });

  it("refuses a keyPrefix holding '{' or '}' in both stores: a ConfigurationError naming keyPrefix that says why (before: '{app}:' put every budget in one slot, 'a{}b:' split one budget's keys over slots)", () => {
    for (const keyPrefix of ['{app}:', 'a{}b:', 'app{', 'app}:', '{']) {
      // What Redis would hash: not the budget's tag (a lone '}' is harmless, refused for one simple rule: no braces).
      if (keyPrefix.includes('{')) expect(hashed(new KeySpace(keyPrefix).of('search', 'c').counter), keyPrefix).not.toBe('search');
      for (const [store, make] of [
        ['RedisBudgetStore', () => new RedisBudgetStore({ client: idle, keyPrefix })],
        ['RedisQuotaStore', () => new RedisQuotaStore({ client: idle, keyPrefix })],
      ] as const) {
        const error = thrown(make);
        expect(isConfigurationError(error), `${store} ${keyPrefix}`).toBe(true);
        expect((error as Error).message).toContain(`${store}.keyPrefix`);
        expect((error as Error).message).toMatch(/hash tag/);
      }
    }
  });

  it("refuses an ioredis client whose own keyPrefix holds a brace (it is put before every key), naming client; a plain one is accepted", () => {
    const braced = new Redis({ lazyConnect: true, keyPrefix: '{tenant}:' });
    const plain = new Redis({ lazyConnect: true, keyPrefix: 'tenant:' });
    try {
      for (const make of [() => new RedisBudgetStore({ client: braced }), () => new RedisQuotaStore({ client: braced })]) {
        const error = thrown(make);
        expect(isConfigurationError(error)).toBe(true);
        expect((error as Error).message).toMatch(/Redis(Budget|Quota)Store\.client: its own keyPrefix/);
      }
      expect(thrown(() => new RedisBudgetStore({ client: plain }))).toBeUndefined();
      expect(thrown(() => new RedisQuotaStore({ client: plain }))).toBeUndefined();
    } finally {
      braced.disconnect();
      plain.disconnect();
    }
  });
});
