import { describe, expect, it } from 'vitest';
import { Reachability } from '../../src/budgets/redis/reachability.js';
import { keySlot, slotOwner } from '../../src/budgets/redis/slot.js';

describe('keySlot', () => {
  it('is the slot Redis Cluster computes (CLUSTER KEYSLOT): CRC16 of the hash tag, mod 16384', () => {
    // Values from redis-cli CLUSTER KEYSLOT.
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('123456789')).toBe(12739);
    expect(keySlot('bedrock-finops:{search}:c:x')).toBe(keySlot('search'));
    expect(keySlot('{}x')).toBe(keySlot('{}x'));
    expect(keySlot('a{ü}b')).toBe(keySlot('ü'));
  });
});

describe('slotOwner', () => {
  it("reads ioredis's and node-redis's slots tables at each call, and nothing from other shapes", () => {
    const io = { slots: [] as string[][] };
    const owner = slotOwner(io);
    expect(owner?.(7)).toBeUndefined();
    io.slots[7] = ['10.0.0.1:6379', '10.0.0.2:6379'];
    expect(owner?.(7)).toBe('10.0.0.1:6379');
    const node = { slots: [{ master: { address: '10.0.0.3:6379' } }] };
    expect(slotOwner(node)?.(0)).toBe('10.0.0.3:6379');
    expect(slotOwner({ evalsha: () => undefined })).toBeUndefined();
    expect(slotOwner(null)).toBeUndefined();
  });
});

describe('Reachability on a Cluster client', () => {
  const cluster = (table: string[]) => ({ isCluster: true, slots: Array.from({ length: 16384 }, (_, slot) => [table[slot % table.length] as string]) });

  it('marks the node, so every budget whose slot it serves is down at once, and the other nodes stay up', () => {
    const client = cluster(['n1:1', 'n2:2']);
    const reach = new Reachability(client, 'budget', 'test');
    const keys = Array.from({ length: 40 }, (_, i) => `p:{b${i}}:c:x`);
    const onN1 = keys.filter((k) => keySlot(k) % 2 === 0);
    const onN2 = keys.filter((k) => keySlot(k) % 2 === 1);
    reach.goDown(onN1[0] as string, 'no answer');
    expect(onN1.every((k) => reach.isDown(k))).toBe(true);
    expect(onN2.some((k) => reach.isDown(k))).toBe(false);
    expect(reach.silentParts()).toEqual([['node n1:1', onN1[0]]]);
    // Any answer from that node brings every budget on it back.
    reach.up(onN1[1] as string);
    expect(reach.anyDown).toBe(false);
  });

  it('an error reply marks only that budget (not probed), and a probe answered with one marks the node up and the budget refused', () => {
    const reach = new Reachability(cluster(['n1:1']), 'budget', 'test');
    reach.goDown('p:{a}:c:x', 'NOPERM', new Error("NOPERM No permissions to access a key"));
    expect(reach.isDown('p:{a}:c:x')).toBe(true);
    expect(reach.isDown('p:{b}:c:x')).toBe(false);
    expect(reach.silentParts()).toEqual([]);
    reach.goDown('p:{c}:c:x', 'no answer');
    expect(reach.isDown('p:{b}:c:x')).toBe(true);
    reach.probed('node n1:1', 'p:{c}:c:x', new Error('NOPERM No permissions to access a key'));
    expect(reach.isDown('p:{b}:c:x')).toBe(false);
    expect(reach.isRefused('p:{c}:c:x')).toBe(true);
  });

  it('falls back to one part per budget when the client has no slots table', () => {
    const reach = new Reachability({ evalsha: () => undefined, eval: () => undefined }, 'budget', 'test');
    reach.goDown('p:{a}:c:x', 'no answer');
    expect(reach.isDown('p:{a}:c:y')).toBe(true);
    expect(reach.isDown('p:{b}:c:x')).toBe(false);
  });
});
