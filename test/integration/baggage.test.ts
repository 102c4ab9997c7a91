import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedrockFinOps, withAttribution } from '../../src/index.js';
import { converseReply, makeClient, on, recorder, say, useMockBedrock } from '../helpers/bedrock.js';

const server = useMockBedrock();
const manager = new AsyncLocalStorageContextManager();
beforeAll(() => {
  context.setGlobalContextManager(manager.enable());
});
afterAll(() => {
  context.disable();
});

/** Runs `fn` with OpenTelemetry Baggage set, as an edge service's propagator would. */
function withBaggage<T>(entries: Record<string, string>, fn: () => T): T {
  const baggage = propagation.createBaggage(Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, { value: v }])));
  return context.with(propagation.setBaggage(context.active(), baggage), fn);
}

describe('attribution from OpenTelemetry Baggage', () => {
  it('reads the listed baggage keys, normalised, under withAttribution and attribute in precedence', async () => {
    const { records, onUsage } = recorder();
    server.use(on('converse', () => converseReply()));
    const client = makeClient(bedrockFinOps({ onUsage, attribution: { team: 'default', env: 'prod' }, attributionFromBaggage: ['team', 'tenantId'] }));
    await withBaggage({ team: 'edge', tenantId: 't-9', sessionSecret: 'not-taken' }, async () => {
      await client.send(new ConverseCommand(say()));
      await withAttribution({ team: 'scope' }, () => client.send(new ConverseCommand(say())));
    });
    await client.send(new ConverseCommand(say()));
    expect(records.map((r) => r.attribution)).toEqual([
      { team: 'edge', env: 'prod', tenant_id: 't-9' },
      { team: 'scope', env: 'prod', tenant_id: 't-9' },
      { team: 'default', env: 'prod' },
    ]);
  });

  it('with true, takes every entry, bounded like any untrusted attribution, and never throws', async () => {
    const { records, onUsage } = recorder();
    server.use(on('converse', () => converseReply()));
    const client = makeClient(bedrockFinOps({ onUsage, attributionFromBaggage: true }));
    const hostile: Record<string, string> = Object.fromEntries([...Array.from({ length: 40 }, (_, i): [string, string] => [`k${i}`, 'v']), ['gen_ai.system', 'x'], ['long', 'y'.repeat(1_000)]]);
    await withBaggage(hostile, () => client.send(new ConverseCommand(say())));
    expect(Object.keys(records[0]!.attribution)).toHaveLength(32);
    expect(records[0]!.attribution).not.toHaveProperty('gen_ai.system');
    expect(records[0]!.attribution.long).toHaveLength(128);
  });

  it('is off by default: baggage is not read', async () => {
    const { records, onUsage } = recorder();
    server.use(on('converse', () => converseReply()));
    const client = makeClient(bedrockFinOps({ onUsage }));
    await withBaggage({ team: 'edge' }, () => client.send(new ConverseCommand(say())));
    expect(records[0]!.attribution).toEqual({});
  });
});
