import { describe, expect, it } from 'vitest';
import { normalizeKey } from '../../src/attribution/keys.js';
import { attributionFromConfig, attributionFromData, EMPTY_ATTRIBUTION } from '../../src/attribution/normalize.js';

describe('attributionFromData', () => {
  it('interns by content: the same keys and values give the same frozen object (identity caches downstream hit)', () => {
    const a = attributionFromData({ team: 'search', tenantId: 't1' });
    const b = attributionFromData({ team: 'search', tenant_id: 't1' });
    expect(a).toBe(b);
    expect(Object.isFrozen(a)).toBe(true);
    expect(attributionFromData({ team: 'search', tenantId: 't2' })).not.toBe(a);
  });

  it('lets the later of two keys that normalise alike win, and interns the result by its final values', () => {
    const r = attributionFromData({ tenantId: 'first', tenant_id: 'second' });
    expect(r).toEqual({ tenant_id: 'second' });
    expect(attributionFromData({ tenant_id: 'second' })).toBe(r);
  });

  it.each([
    [undefined, EMPTY_ATTRIBUTION],
    [null, EMPTY_ATTRIBUTION],
    ['a string', EMPTY_ATTRIBUTION],
    [['array'], EMPTY_ATTRIBUTION],
    [{}, EMPTY_ATTRIBUTION],
  ])('never throws on %j', (input, expected) => {
    expect(attributionFromData(input)).toBe(expected);
  });

  it('drops non-string values other than numbers and booleans, and cuts long values', () => {
    expect(attributionFromData({ a: 1, b: true, c: { x: 1 }, d: 'x'.repeat(300) })).toEqual({ a: '1', b: 'true', d: 'x'.repeat(128) });
  });
});

describe('attributionFromConfig', () => {
  it('normalises keys and throws for keys that cannot be attribution keys, naming the field', () => {
    expect(attributionFromConfig({ costCenter: 'x' }, 'attribution')).toEqual({ cost_center: 'x' });
    expect(() => attributionFromConfig({ 'gen_ai.system': 'x' }, 'attribution')).toThrow(/attribution\.gen_ai\.system/);
  });
});

describe('normalizeKey', () => {
  it.each([
    ['tenantId', 'tenant_id'],
    ['TenantID', 'tenant_id'],
    ['cost-center', 'cost_center'],
    ['  spaced key  ', 'spaced_key'],
    ['a.b.c', 'a.b.c'],
    ['__proto__', 'proto'],
  ])('normalises %j to %j', (raw, key) => {
    expect(normalizeKey(raw)).toEqual({ key });
  });

  it.each([[''], ['___'], ['9lives'], ['server.address'], ['x'.repeat(65)], ['x'.repeat(10_000)]])('reports %j as invalid, without throwing', (raw) => {
    expect(normalizeKey(raw).key).toBeUndefined();
  });
});
