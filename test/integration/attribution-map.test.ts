import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps, isConfigurationError, withAttribution } from '../../src/index.js';
import { converseReply, makeClient, on, recorder, say, useMockBedrock } from '../helpers/bedrock.js';

/** Attribution given as a Map (what many apps keep request context in) is read as an object is; before, it was dropped without a word. */
const server = useMockBedrock();

function setup(attribution?: unknown) {
  server.use(on('converse', () => converseReply({ inputTokens: 3, outputTokens: 2 })));
  const { records, onUsage } = recorder();
  const finops = bedrockFinOps({ onUsage, ...(attribution === undefined ? {} : { attribution: attribution as Record<string, string> }), budgets: [{ name: 'per-team', per: 'team', limit: { tokens: 1_000_000 }, window: 'day' }] });
  return { client: makeClient(finops), records, finops };
}

describe('attribution as a Map', () => {
  it('withAttribution(new Map(...)): the call is attributed and charged to its team (before: attribution {}, charged to no team)', async () => {
    const { client, records, finops } = setup();
    await withAttribution(new Map([['team', 'search'], ['feature', 'chat']]), () => client.send(new ConverseCommand(say())));
    expect(records[0]?.attribution).toEqual({ team: 'search', feature: 'chat' });
    expect((await finops.budgets.status()).map((s) => [s.key, s.used.tokens])).toEqual([['search', 5]]);
  });

  it('a Map in the configuration is read too; a key it may not have is a ConfigurationError naming it', () => {
    const { finops } = setup(new Map([['team', 'platform']]));
    expect(finops).toBeDefined();
    let error: unknown;
    try {
      bedrockFinOps({ attribution: new Map([['9lives', 'x']]) });
    } catch (e) {
      error = e;
    }
    expect(isConfigurationError(error)).toBe(true);
    expect((error as Error).message).toContain('attribution.');
  });

  it('a hostile Map (its iterator throws) never breaks the call: the attribution is ignored', async () => {
    const { client, records } = setup();
    const hostile = new (class extends Map<string, string> {
      override *[Symbol.iterator](): MapIterator<[string, string]> {
        yield ['team', 'x'];
        throw new Error('boom');
      }
    })();
    await withAttribution(hostile as never, () => client.send(new ConverseCommand(say())));
    expect(records[0]).toMatchObject({ outcome: 'success', attribution: {} });
  });

  it('a Map of a million entries is read in one pass keeping its last 128 (bounded, like an object its last keys), and the call goes on', async () => {
    const { client, records } = setup();
    const huge = new Map<string, string>();
    for (let i = 0; i < 1_000_000; i++) huge.set(`k${i}`, 'v');
    huge.set('team', 'late');
    await withAttribution(huge as never, () => client.send(new ConverseCommand(say())));
    expect(records[0]?.outcome).toBe('success');
    // The key set last is kept (test/integration/privacy-attribution.test.ts: a trusted tenant_id after untrusted tags).
    expect(records[0]?.attribution.team).toBe('late');
    expect(Object.keys(records[0]?.attribution ?? {}).length).toBeLessThanOrEqual(32);
  });
});
