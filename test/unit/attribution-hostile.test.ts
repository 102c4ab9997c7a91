import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeKey } from '../../src/attribution/keys.js';
import { attributionFromConfig, attributionFromData, boundValue, EMPTY_ATTRIBUTION, mergeAttribution } from '../../src/attribution/normalize.js';
import { attribute, commandAttribution, currentScopeAttribution } from '../../src/attribution/scope.js';
import { assertRuleKey } from '../../src/budgets/rule.js';
import { bedrockFinOps, isConfigurationError, withAttribution } from '../../src/index.js';
import type { Attribution } from '../../src/record.js';
import { captureDiag } from '../helpers/adversary.js';

let diag: ReturnType<typeof captureDiag> | undefined;
afterEach(() => {
  diag?.stop();
  diag = undefined;
});
const warnings = (): string[] => (diag ??= captureDiag()).messages;

/** `count` keys `${prefix}0`… with value 'u' (untrusted tags). */
const tags = (prefix: string, count: number): Record<string, string> => Object.fromEntries(Array.from({ length: count }, (_, i) => [`${prefix}${i}`, 'u']));

function configError(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    expect(isConfigurationError(e)).toBe(true);
    return e as Error;
  }
  throw new Error('did not throw');
}

describe('rule 1: the 32-key cap keeps the last 32 distinct keys', () => {
  it('a trusted key written after 32 untrusted tags is kept; the first tag is dropped and reported', () => {
    warnings();
    const a = attributionFromData({ ...tags('cap1_', 32), tenant_id: 'acme' });
    expect(a.tenant_id).toBe('acme');
    expect(Object.keys(a)).toHaveLength(32);
    expect(a).not.toHaveProperty('cap1_0');
    expect(a).toHaveProperty('cap1_31', 'u');
    expect(warnings().filter((m) => m.includes('"cap1_0"') && m.includes('32-key limit'))).toHaveLength(1);
    expect(warnings().filter((m) => m.includes('"cap1_1"'))).toEqual([]);
    // Keys are counted once whatever their spellings: an alias written early takes no slot of its own.
    const b = attributionFromData({ tenantId: 'alias', ...tags('cap2_', 31), tenant_id: 'acme' });
    expect(Object.keys(b)).toHaveLength(32);
    expect(b.tenant_id).toBe('acme');
    expect(b).toHaveProperty('cap2_0');
  });

  it('on 200,000 keys: the last 32 kept, in linear time, at most 33 diagnostics', () => {
    warnings();
    const big: Record<string, string> = tags('big_', 200_000);
    big.tenant_id = 'acme';
    const t0 = performance.now();
    const a = attributionFromData(big);
    const ms = performance.now() - t0;
    expect(Object.keys(a)).toEqual([...Array.from({ length: 31 }, (_, i) => `big_${199_969 + i}`), 'tenant_id']);
    expect(ms).toBeLessThan(5_000);
    expect(warnings().filter((m) => m.includes('attribution')).length).toBeLessThanOrEqual(33);
  });
});

describe('rule 2: a key written exactly as its canonical form wins over its aliases, whatever the order', () => {
  const aliases = ['tenantId', 'TenantID', 'TENANT_ID', 'tenant-id', 'Tenant Id', '_tenant_id', 'tenant__id', 'tenant_id_', ' tenant_id', 'tenant\u200bid', 'tenant\u00e9id'];

  it.each(aliases)('%j normalises to tenant_id, and loses to tenant_id written before or after it', (alias) => {
    // Characters outside a-z0-9. become "_": zero-width and accented spellings are aliases like any other.
    expect(normalizeKey(alias)).toEqual({ key: 'tenant_id' });
    expect(attributionFromData({ tenant_id: 'trusted', [alias]: 'evil' })).toEqual({ tenant_id: 'trusted' });
    expect(attributionFromData({ [alias]: 'evil', tenant_id: 'trusted' })).toEqual({ tenant_id: 'trusted' });
  });

  it('among aliases, and among exact spellings, the later wins', () => {
    expect(attributionFromData({ tenantId: 'a', TENANT_ID: 'b' })).toEqual({ tenant_id: 'b' });
    expect(attributionFromData({ TENANT_ID: 'b', tenantId: 'a' })).toEqual({ tenant_id: 'a' });
    expect(attributionFromData({ 'tenant.id': 'a', 'tenant..id': 'b' })).toEqual({ 'tenant..id': 'b' });
  });

  it('a per-command attribution built as { tenant_id: trusted, ...rest } keeps the trusted value', () => {
    const command = attribute(new ConverseCommand({ modelId: 'm', messages: [] }), { tenant_id: 'trusted', TenantId: 'evil' });
    let seen: Attribution | undefined;
    withAttribution({ tenant_id: 'trusted', 'tenant-id': 'evil' }, () => {
      seen = currentScopeAttribution();
    });
    expect(seen).toEqual({ tenant_id: 'trusted' });
    expect(commandAttribution(command)).toEqual({ tenant_id: 'trusted' });
  });
});

describe('rule 3: keys that collide once exported to Prometheus', () => {
  it.each([
    ['gen_ai_request_model', 'reserved namespace "gen_ai_"'],
    ['server_port', 'reserved namespace "server_"'],
    ['Server-Port', 'reserved namespace "server_"'],
    ['bedrock_finops_outcome', 'reserved namespace "bedrock_finops_"'],
    ['bedrock_finops_token_type', 'reserved namespace "bedrock_finops_"'],
    ['otel_scope_name', 'reserved namespace "otel_"'],
    ['error_type', 'reserved namespace "error_"'],
    ['gen..ai.system', 'reserved namespace "gen_ai_"'],
    ['le', 'label name Prometheus reserves'],
    ['quantile', 'label name Prometheus reserves'],
  ])('%j is not a key (%s)', (raw, problem) => {
    expect(normalizeKey(raw).key).toBeUndefined();
    expect(normalizeKey(raw).problem).toContain(problem);
  });

  it('from data, a reserved label name is dropped and reported; from configuration it throws naming the field; dotted keys stay valid', () => {
    warnings();
    expect(attributionFromData({ le: '0.01', quantile: '0.5', server_port: '1', team: 'x', 'app.feature.name': 'y' })).toEqual({ team: 'x', 'app.feature.name': 'y' });
    expect(normalizeKey('tenant.id')).toEqual({ key: 'tenant.id' });
    expect(normalizeKey('gen_ai.system').problem).toBe('is in the reserved namespace "gen_ai."');
    expect(warnings().filter((m) => m.includes('"le"'))).toHaveLength(1);
    expect(configError(() => attributionFromConfig({ team: 'x', server_port: '1' }, 'attribution')).message).toContain('attribution.server_port');
    expect(configError(() => attributionFromConfig({ le: '1' }, 'attribution')).message).toContain('attribution.le');
    expect(configError(() => bedrockFinOps({ attribution: { bedrock_finops_outcome: 'x' } })).message).toContain('attribution.bedrock_finops_outcome');
    expect(configError(() => assertRuleKey('quantile', 'budgets[0].per')).message).toContain('budgets[0].per');
  });

  it('two keys of one label name are one key: the underscore spelling wins whatever the order, the other is dropped and reported', () => {
    warnings();
    expect(attributionFromData({ account_id: 'trusted', 'account.id': 'evil' })).toEqual({ account_id: 'trusted' });
    expect(attributionFromData({ 'account.id': 'evil', account_id: 'trusted' })).toEqual({ account_id: 'trusted' });
    // An exact dotted key wins over an alias of the underscore form.
    expect(attributionFromData({ 'tenant.id': 'kept', TenantId: 'alias' })).toEqual({ 'tenant.id': 'kept' });
    expect(warnings().filter((m) => m.includes('"account.id" is exported to Prometheus as "account_id"'))).toHaveLength(1);
    expect(configError(() => attributionFromConfig({ tenant_id: 'a', 'tenant.id': 'b' }, 'attribution')).message).toContain('attribution.tenant.id');
  });

  it('across layers too: merging tenant.id into tenant_id keeps one of them', () => {
    const flat = attributionFromData({ tenant_id: 'outer' });
    const dotted = attributionFromData({ 'tenant.id': 'inner' });
    expect(mergeAttribution(flat, dotted)).toEqual({ tenant_id: 'outer' });
    expect(mergeAttribution(dotted, flat)).toEqual({ tenant_id: 'outer' });
    expect(mergeAttribution(dotted, attributionFromData({ 'tenant.id': 'inner2' }))).toEqual({ 'tenant.id': 'inner2' });
  });
});

describe('rule 4: values are well-formed, and cut before a surrogate pair', () => {
  it('lone surrogates become U+FFFD, so two values Redis would merge are one value here too', () => {
    expect(boundValue('acme\uD800')).toBe('acme\uFFFD');
    expect(boundValue('acme\uDBFF')).toBe('acme\uFFFD');
    expect(boundValue('\uDC00acme')).toBe('\uFFFDacme');
    expect(attributionFromData({ tenant: 'acme\uD800' })).toBe(attributionFromData({ tenant: 'acme\uDBFF' }));
  });

  it('a pair that straddles the 128th unit is left out whole; a lone high surrogate there is U+FFFD', () => {
    const emoji = '\u{1F600}';
    expect(boundValue('x'.repeat(127) + emoji + 'y')).toBe('x'.repeat(127));
    expect(boundValue('x'.repeat(126) + emoji + 'y')).toBe('x'.repeat(126) + emoji);
    expect(boundValue('x'.repeat(127) + '\uD800yy')).toBe('x'.repeat(127) + '\uFFFD');
    expect(boundValue(emoji.repeat(1_000))).toBe(emoji.repeat(64));
  });

  it('on random strings of surrogates: well-formed, at most 128 units, a prefix of the well-formed value', () => {
    const units = [0xd800, 0xdbff, 0xdc00, 0xdfff, 0x41, 0xfffd];
    let seed = 7;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 2_000; i++) {
      const s = String.fromCharCode(...Array.from({ length: 100 + next(80) }, () => units[next(units.length)] as number));
      const out = boundValue(s) as string;
      const whole = (s as string & { toWellFormed(): string }).toWellFormed();
      expect((out as string & { isWellFormed(): boolean }).isWellFormed()).toBe(true);
      expect(out.length).toBeLessThanOrEqual(128);
      expect(whole.startsWith(out)).toBe(true);
      expect(out.length).toBeGreaterThanOrEqual(Math.min(127, whole.length));
    }
  });
});

describe('rule 5: a revoked Proxy never throws', () => {
  const revoked = (): Record<string, string> => {
    const { proxy, revoke } = Proxy.revocable({ team: 'x' }, {});
    revoke();
    return proxy;
  };

  it('attributionFromData gives the empty attribution and reports it once; configuration throws a ConfigurationError', () => {
    warnings();
    expect(attributionFromData(revoked())).toBe(EMPTY_ATTRIBUTION);
    expect(attributionFromData(revoked())).toBe(EMPTY_ATTRIBUTION);
    expect(warnings().filter((m) => m.includes('could not be read'))).toHaveLength(1);
    expect(configError(() => attributionFromConfig(revoked(), 'attribution')).message).toContain('attribution');
  });

  it('withAttribution, attribute and budgets.check go on without it', async () => {
    const command = new ConverseCommand({ modelId: 'm', messages: [] });
    expect(withAttribution(revoked(), () => currentScopeAttribution())).toBe(EMPTY_ATTRIBUTION);
    expect(attribute(command, revoked())).toBe(command);
    const finops = bedrockFinOps({ budgets: [{ name: 'b', limit: { tokens: 10 }, window: 'day' }] });
    await expect(Promise.resolve().then(() => finops.budgets.check(revoked(), 'amazon.nova-micro-v1:0'))).resolves.toMatchObject({ allowed: true });
    await finops.shutdown();
  });
});

describe('rule 6: merged layers are capped too, inner keys first', () => {
  it('10 layers of 32 keys merge to the 32 innermost', () => {
    let merged: Attribution = EMPTY_ATTRIBUTION;
    for (let d = 0; d < 10; d++) merged = mergeAttribution(merged, attributionFromData(tags(`d${d}k`, 32)));
    expect(Object.keys(merged)).toEqual(Object.keys(tags('d9k', 32)));
  });

  it('one inner key over 32 outer ones pushes out the first outer key, not the inner one', () => {
    const merged = mergeAttribution(attributionFromData(tags('o', 32)), attributionFromData({ tenant_id: 'inner' }));
    expect(Object.keys(merged)).toHaveLength(32);
    expect(merged.tenant_id).toBe('inner');
    expect(merged).not.toHaveProperty('o0');
  });

  it('nested withAttribution scopes carry at most 32 keys, the innermost', () => {
    const nest = (d: number): Attribution | undefined => (d === 0 ? currentScopeAttribution() : withAttribution(tags(`n${d}k`, 32), () => nest(d - 1)));
    const a = nest(10) as Attribution;
    expect(Object.keys(a)).toEqual(Object.keys(tags('n1k', 32)));
  });
});
