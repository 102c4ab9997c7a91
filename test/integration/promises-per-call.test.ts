/**
 * What the plugin adds to a call in promises, counted (not timed) through a real
 * BedrockRuntimeClient answered in-process by the simulator. Under Node 20 every promise pays the
 * async hooks an AsyncLocalStorage turns on, so each one the plugin adds is a cost per call (per
 * event for a stream) that no change inside its functions removes: the full configuration (a
 * budget, the in-process GenAI histograms, a scope per call) adds two per unary call (its
 * operation-level and per-attempt continuations) and one per stream read (the pass-through's).
 */
import { createHook } from 'node:async_hooks';
import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand, InvokeModelCommand } from '@aws-sdk/client-bedrock-runtime';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps, withAttribution } from '../../src/index.js';
import { SimulatorEngine, simulatorRequestHandler } from '../../src/testing/index.js';

const MODEL = 'amazon.nova-micro-v1:0';
const messages = [{ role: 'user' as const, content: [{ text: 'count the promises of this call' }] }];

function newClient(withPlugin: boolean): { client: BedrockRuntimeClient; records: number[] } {
  const client = new BedrockRuntimeClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, requestHandler: simulatorRequestHandler(new SimulatorEngine()) });
  const records: number[] = [];
  if (withPlugin)
    client.middlewareStack.use(
      bedrockFinOps({
        attribution: { team: 'promises' },
        genAiHistograms: 'producer',
        budgets: [{ name: 'daily', limit: { tokens: 1e12 }, window: 'day' }],
        onUsage: (r) => records.push(r.outputTokens),
      }),
    );
  return { client, records };
}

let created = 0;
const hook = createHook({
  init(_id, type) {
    if (type === 'PROMISE') created++;
  },
});

/** Promises created by one call (after two warm-up calls), inside a scope per call. */
async function promisesOf(call: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 2; i++) await withAttribution({ tenant: `warm-${i}` }, call);
  created = 0;
  hook.enable();
  try {
    await withAttribution({ tenant: 'counted' }, call);
  } finally {
    hook.disable();
  }
  return created;
}

describe('promises per call', () => {
  it.each([
    ['Converse', (c: BedrockRuntimeClient) => c.send(new ConverseCommand({ modelId: MODEL, messages, inferenceConfig: { maxTokens: 32 } }))],
    [
      'InvokeModel',
      (c: BedrockRuntimeClient) =>
        c.send(new InvokeModelCommand({ modelId: MODEL, body: JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'count the promises of this call' }] }], inferenceConfig: { maxTokens: 32 } }) })),
    ],
  ])('%s: the full configuration adds two promises to a call (each call recorded)', async (_, send) => {
    const bare = newClient(false);
    const metered = newClient(true);
    const bareCount = await promisesOf(() => send(bare.client));
    const meteredCount = await promisesOf(() => send(metered.client));
    // Every call was recorded (3: two warm-ups and the counted one), so the count is of a metered call.
    expect(metered.records).toHaveLength(3);
    expect(meteredCount - bareCount).toBe(2);
  });

  it('ConverseStream: one promise per read (each event and the end), two per call', async () => {
    let events = 0;
    const stream = async (c: BedrockRuntimeClient): Promise<void> => {
      const out = await c.send(new ConverseStreamCommand({ modelId: MODEL, messages, inferenceConfig: { maxTokens: 64 } }));
      events = 0;
      for await (const _ of out.stream ?? []) events++;
    };
    const bare = newClient(false);
    const metered = newClient(true);
    const bareCount = await promisesOf(() => stream(bare.client));
    const bareEvents = events;
    const meteredCount = await promisesOf(() => stream(metered.client));
    expect(events).toBe(bareEvents);
    expect(events).toBeGreaterThan(10);
    expect(metered.records).toHaveLength(3);
    expect(metered.records[2]).toBeGreaterThan(0);
    // `for await` reads events + 1 times (the last read finds the end).
    expect(meteredCount - bareCount).toBe(events + 1 + 2);
  });
});
