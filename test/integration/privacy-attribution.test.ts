import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { describe, expect, it } from 'vitest';
import { attribute, bedrockFinOps, isBudgetExceededError, withAttribution } from '../../src/index.js';
import { converseReply, makeClient, on, recorder, say, useMockBedrock } from '../helpers/bedrock.js';

const server = useMockBedrock();
const MODEL = 'amazon.nova-micro-v1:0';

/** One counter per tenant_id, 50 tokens a day; each call reserves 20 and uses 20: two per tenant are admitted, the third refused. */
function perTenant() {
  server.use(on('converse', () => converseReply({ inputTokens: 10, outputTokens: 10 })));
  const { records, onUsage } = recorder();
  const finops = bedrockFinOps({ onUsage, estimator: () => 10, budgets: [{ name: 'per-tenant', per: 'tenant_id', limit: { tokens: 50 }, window: 'day' }] });
  const client = makeClient(finops, { maxAttempts: 1 });
  const outcomes: string[] = [];
  const send = (attrs: ReadonlyMap<string, string>, how: 'scope' | 'command'): Promise<void> =>
    (how === 'scope' ? withAttribution(attrs, () => client.send(new ConverseCommand(say('hi', MODEL, 10)))) : client.send(attribute(new ConverseCommand(say('hi', MODEL, 10)), attrs))).then(
      () => void outcomes.push('sent'),
      (e: unknown) => {
        if (!isBudgetExceededError(e)) throw e;
        outcomes.push(`refused as ${e.key}`);
      },
    );
  return { finops, records, send, outcomes };
}

describe('attribution given as a Map keeps its last keys, as an object does', () => {
  it('new Map([...200 untrusted tags, [tenant_id, trusted]]) is charged to tenant_id: 2 calls admitted, 3 refused', async () => {
    const { finops, records, send, outcomes } = perTenant();
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
    const { records, send, outcomes } = perTenant();
    const attrs = new Map<string, string>();
    for (let i = 0; i < 200_000; i++) attrs.set(`k${i}`, 'v'.repeat(10));
    attrs.set('tenant_id', 'globex');
    await send(attrs, 'scope');
    expect(outcomes).toEqual(['sent']);
    expect([records[0]?.attribution.tenant_id, Object.keys(records[0]?.attribution ?? {}).length, records[0]?.attribution.k199999]).toEqual(['globex', 32, 'vvvvvvvvvv']);
  });
});
