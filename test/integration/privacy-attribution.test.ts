import { describe, expect, it } from 'vitest';
import { useMockBedrock } from '../helpers/bedrock.js';
import { perTenant } from '../helpers/per-tenant.js';

const server = useMockBedrock();

describe('attribution given as a Map keeps its last keys, as an object does', () => {
  it('new Map([...200 untrusted tags, [tenant_id, trusted]]) is charged to tenant_id: 2 calls admitted, 3 refused', async () => {
    const { finops, records, send, outcomes } = perTenant(server);
    const tags: [string, string][] = Array.from({ length: 200 }, (_, i) => [`tag${i}`, 'x']);
    const attrs = new Map([...tags, ['tenant_id', 'acme']]);
    for (let i = 0; i < 4; i++) await send(attrs, 'scope');
    await send(attrs, 'command');
    // Before: only the Map's first 128 entries were read, so tenant_id was dropped and the call escaped its
    // per-tenant budget: all 5 sent, nothing charged to acme, records without tenant_id.
    expect(outcomes).toEqual(['sent', 'sent', 'refused as acme', 'refused as acme', 'refused as acme']);
    expect((await finops.budgets.status()).map((s) => [s.key, s.used.tokens])).toEqual([['acme', 40]]);
    expect(records.map((r) => [r.attribution.tenant_id, Object.keys(r.attribution).length, r.attribution.tag199])).toEqual([
      ['acme', 32, 'x'],
      ['acme', 32, 'x'],
    ]);
  });

  it('a Map of 200,000 entries is read in one pass and bounded: 32 keys, the last ones', async () => {
    const { records, send, outcomes } = perTenant(server);
    const attrs = new Map<string, string>();
    for (let i = 0; i < 200_000; i++) attrs.set(`k${i}`, 'v'.repeat(10));
    attrs.set('tenant_id', 'globex');
    await send(attrs, 'scope');
    expect(outcomes).toEqual(['sent']);
    expect([records[0]?.attribution.tenant_id, Object.keys(records[0]?.attribution ?? {}).length, records[0]?.attribution.k199999]).toEqual(['globex', 32, 'vvvvvvvvvv']);
  });
});
