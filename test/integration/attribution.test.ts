import { ConverseCommand, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { describe, expect, it } from 'vitest';
import { attribute, bedrockFinOps, isConfigurationError, withAttribution } from '../../src/index.js';
import { converseStreamEvent } from '../../src/testing/index.js';
import { eventStream, json, makeClient, useMockBedrock, on, recorder, tick } from '../helpers/bedrock.js';

const server = useMockBedrock();

const input = { modelId: 'amazon.nova-micro-v1:0', messages: [{ role: 'user' as const, content: [{ text: 'hi' }] }] };
const ok = () => json({ output: { message: { role: 'assistant', content: [{ text: 'x' }] } }, stopReason: 'end_turn', usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } });

describe('attribution', () => {
  it('merges plugin defaults < withAttribution scopes (inner wins) < attribute(command)', async () => {
    const { records, onUsage } = recorder();
    server.use(on('converse', ok));
    const client = makeClient(bedrockFinOps({ onUsage, attribution: { team: 'search', env: 'prod' } }));
    await client.send(new ConverseCommand(input));
    await withAttribution({ feature: 'autocomplete', tenant: 't1' }, async () => {
      await client.send(new ConverseCommand(input));
      await withAttribution({ tenant: 't2', team: 'ads' }, async () => {
        await client.send(new ConverseCommand(input));
        await client.send(attribute(new ConverseCommand(input), { tenant: 't3' }));
      });
    });
    expect(records.map((r) => r.attribution)).toEqual([
      { team: 'search', env: 'prod' },
      { team: 'search', env: 'prod', feature: 'autocomplete', tenant: 't1' },
      { team: 'ads', env: 'prod', feature: 'autocomplete', tenant: 't2' },
      { team: 'ads', env: 'prod', feature: 'autocomplete', tenant: 't3' },
    ]);
  });

  it('survives timers and reaches a stream that is consumed after the scope has returned', async () => {
    const { records, onUsage } = recorder();
    server.use(
      on('converse', ok),
      on('converse-stream', () =>
        eventStream([converseStreamEvent('messageStart', { role: 'assistant' }), converseStreamEvent('metadata', { usage: { inputTokens: 4, outputTokens: 5, totalTokens: 9 }, metrics: { latencyMs: 1 } })]),
      ),
    );
    const client = makeClient(bedrockFinOps({ onUsage }));
    const stream = await withAttribution({ feature: 'chat' }, async () => {
      await new Promise<void>((resolve) => setTimeout(() => void client.send(new ConverseCommand(input)).then(() => resolve()), 5));
      return client.send(new ConverseStreamCommand(input));
    });
    await tick(5);
    for await (const _ of stream.stream!) {
      /* consumed outside the scope */
    }
    expect(records.map((r) => [r.operation, r.attribution])).toEqual([
      ['Converse', { feature: 'chat' }],
      ['ConverseStream', { feature: 'chat' }],
    ]);
  });

  it('keeps untrusted values bounded and never throws on them', async () => {
    const { records, onUsage } = recorder();
    server.use(on('converse', ok));
    const client = makeClient(bedrockFinOps({ onUsage }));
    const long = 'x'.repeat(10_000);
    await withAttribution({ tenant: long, user: 42 as unknown as string, bad: undefined as unknown as string }, () => client.send(new ConverseCommand(input)));
    expect(records[0]!.attribution).toEqual({ tenant: 'x'.repeat(128), user: '42' });
  });

  it.each([
    ['', 'must not be empty'],
    ['Team', 'must match'],
    ['1team', 'must match'],
    ['team-name', 'must match'],
    ['gen_ai.system', 'reserved namespace'],
    ['server.address', 'reserved namespace'],
    ['error.type', 'reserved namespace'],
    ['k'.repeat(65), 'longer than 64'],
  ])('rejects the invalid key %j with a clear error', (key, problem) => {
    const attempts = [
      () => bedrockFinOps({ attribution: { [key]: 'v' } }),
      () => withAttribution({ [key]: 'v' }, () => 1),
      () => attribute(new ConverseCommand(input), { [key]: 'v' }),
    ];
    for (const attempt of attempts) {
      let caught: unknown;
      try {
        attempt();
      } catch (e) {
        caught = e;
      }
      expect(isConfigurationError(caught)).toBe(true);
      expect((caught as Error).message).toContain(problem);
    }
  });
});

describe('attribution with the SDK handler cache', () => {
  it('keeps per-command attribution per call when the client caches its middleware', async () => {
    const { records, onUsage } = recorder();
    server.use(on('converse', ok));
    const { BedrockRuntimeClient } = await import('@aws-sdk/client-bedrock-runtime');
    const { NodeHttpHandler } = await import('@smithy/node-http-handler');
    const client = new BedrockRuntimeClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      requestHandler: new NodeHttpHandler(),
      cacheMiddleware: true,
    });
    client.middlewareStack.use(bedrockFinOps({ onUsage }));
    await client.send(attribute(new ConverseCommand(input), { tenant: 'a' }));
    await client.send(new ConverseCommand(input));
    await client.send(attribute(new ConverseCommand(input), { tenant: 'b' }));
    expect(records.map((r) => r.attribution)).toEqual([{ tenant: 'a' }, {}, { tenant: 'b' }]);
  });
});
