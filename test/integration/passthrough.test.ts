import {
  ApplyGuardrailCommand,
  ConverseCommand,
  CountTokensCommand,
  GetAsyncInvokeCommand,
} from '@aws-sdk/client-bedrock-runtime';
import { http } from 'msw';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps, FINOPS_MIDDLEWARE } from '../../src/index.js';
import { ENDPOINT, json, makeClient, useMockBedrock, on, recorder, converseReply } from '../helpers/bedrock.js';
import { stackEntries } from '../helpers/stack.js';

const server = useMockBedrock();

const converseOk = () => converseReply({ inputTokens: 2, outputTokens: 3 });

describe('operations without billed tokens', () => {
  it('passes CountTokens, ApplyGuardrail and GetAsyncInvoke through without a record', async () => {
    const { records, onUsage } = recorder();
    server.use(
      on('count-tokens', () => json({ inputTokens: 42 })),
      http.post(`${ENDPOINT}/guardrail/:id/version/:v/apply`, () => json({ action: 'NONE', outputs: [], assessments: [] })),
      http.get(`${ENDPOINT}/async-invoke/:arn`, () =>
        json({ invocationArn: 'arn:aws:bedrock:us-east-1:1:async-invoke/x', modelArn: 'm', clientRequestToken: 't', status: 'InProgress', submitTime: '2026-01-01T00:00:00Z', outputDataConfig: { s3OutputDataConfig: { s3Uri: 's3://b/k' } } }),
      ),
    );
    const client = makeClient(bedrockFinOps({ onUsage }));
    const counted = await client.send(
      new CountTokensCommand({ modelId: 'anthropic.claude-3-5-haiku-20241022-v1:0', input: { converse: { messages: [{ role: 'user', content: [{ text: 'hi' }] }] } } }),
    );
    expect(counted.inputTokens).toBe(42);
    const guard = await client.send(new ApplyGuardrailCommand({ guardrailIdentifier: 'g1', guardrailVersion: '1', source: 'INPUT', content: [{ text: { text: 'hi' } }] }));
    expect(guard.action).toBe('NONE');
    const job = await client.send(new GetAsyncInvokeCommand({ invocationArn: 'arn:aws:bedrock:us-east-1:1:async-invoke/x' }));
    expect(job.status).toBe('InProgress');
    expect(records).toHaveLength(0);
  });
});

describe('the plugin on clients', () => {
  it('serves many clients from one instance, and can be removed by its placement name', async () => {
    const { records, onUsage } = recorder();
    server.use(on('converse', converseOk));
    const finops = bedrockFinOps({ onUsage });
    const a = makeClient(finops);
    const b = makeClient(finops);
    const input = { modelId: 'amazon.nova-lite-v1:0', messages: [{ role: 'user' as const, content: [{ text: 'hi' }] }] };
    await a.send(new ConverseCommand(input));
    await b.send(new ConverseCommand(input));
    expect(records).toHaveLength(2);
    expect(b.middlewareStack.remove(FINOPS_MIDDLEWARE.name)).toBe(true);
    await b.send(new ConverseCommand(input));
    expect(records).toHaveLength(2);
  });

  it('applied twice to one client still counts each call once', async () => {
    const { records, onUsage } = recorder();
    server.use(on('converse', converseOk));
    const finops = bedrockFinOps({ onUsage });
    const client = makeClient(finops);
    client.middlewareStack.use(finops);
    await client.send(new ConverseCommand({ modelId: 'amazon.nova-lite-v1:0', messages: [{ role: 'user', content: [{ text: 'hi' }] }] }));
    expect(records).toHaveLength(1);
  });

  it('refuses a second instance on a client that already carries one (its budgets would silently stop applying)', async () => {
    const first = recorder();
    server.use(on('converse', converseOk));
    const client = makeClient(bedrockFinOps({ onUsage: first.onUsage, budgets: [{ name: 'b', limit: { tokens: 1e6 }, window: 'day' }] }));
    const second = bedrockFinOps({});
    expect(() => client.middlewareStack.use(second)).toThrow(/already carries another bedrockFinOps instance/);
    await client.send(new ConverseCommand({ modelId: 'amazon.nova-lite-v1:0', messages: [{ role: 'user', content: [{ text: 'hi' }] }] }));
    expect(first.records).toHaveLength(1);
    // After removing the first, the second may take its place.
    client.middlewareStack.remove(FINOPS_MIDDLEWARE.name);
    const secondRecords = recorder();
    const third = bedrockFinOps({ onUsage: secondRecords.onUsage });
    expect(() => client.middlewareStack.use(third)).not.toThrow();
    // The first's per-attempt hook went with it: the call is metered by the new instance alone.
    await client.send(new ConverseCommand({ modelId: 'amazon.nova-lite-v1:0', messages: [{ role: 'user', content: [{ text: 'hi' }] }] }));
    expect(first.records).toHaveLength(1);
    expect(secondRecords.records).toHaveLength(1);
  });

  it('puts two entries on a stack: the metering middleware and its per-attempt hook (each entry costs the SDK a few µs per call)', () => {
    const client = makeClient(bedrockFinOps({}));
    const ours = client.middlewareStack.identify().filter((e) => e.startsWith('bedrockFinOps'));
    expect(ours).toHaveLength(2);
    expect(ours[0]).toBe(`${FINOPS_MIDDLEWARE.name} - initialize`);
    expect(ours[1]).toMatch(/^bedrockFinOpsAttemptMiddleware(#\d+)? - finalizeRequest$/);
    expect(client.middlewareStack.removeByTag('BEDROCK_FINOPS')).toBe(true);
    expect(client.middlewareStack.identify().filter((e) => e.startsWith('bedrockFinOps'))).toHaveLength(0);
  });

  it("adds its entries with an empty before/after (so the SDK's per-call copies make no new hidden class), and middlewares placed relative to them still run in order", async () => {
    const { records, onUsage } = recorder();
    server.use(on('converse', converseOk));
    const client = makeClient(bedrockFinOps({ onUsage }));
    const order: string[] = [];
    const mark = (label: string) => (next: (a: unknown) => Promise<unknown>) => (a: unknown) => {
      order.push(label);
      return next(a);
    };
    client.middlewareStack.addRelativeTo(mark('before') as never, { name: 'userBefore', relation: 'before', toMiddleware: FINOPS_MIDDLEWARE.name });
    client.middlewareStack.addRelativeTo(mark('after') as never, { name: 'userAfter', relation: 'after', toMiddleware: FINOPS_MIDDLEWARE.name });
    client.middlewareStack.add(mark('serialize') as never, { name: 'userSerialize', step: 'serialize' });
    const send = () => client.send(new ConverseCommand({ modelId: 'amazon.nova-lite-v1:0', messages: [{ role: 'user', content: [{ text: 'hi' }] }] }));
    await send();
    await send();
    expect(order).toEqual(['before', 'after', 'serialize', 'before', 'after', 'serialize']);
    expect(records).toHaveLength(2);
    // The stack's own entries, as it clones them (the SDK's concat does this on every call).
    const ours = stackEntries(client.middlewareStack).filter(([, o]) => String(o.name).startsWith('bedrockFinOps'));
    expect(ours).toHaveLength(2);
    // The SDK filled its copies' arrays (the relative entries above), never the entries' own.
    for (const [, o] of ours) expect([o.before, o.after]).toEqual([[], []]);
    expect(client.middlewareStack.identify().filter((e) => /^(userBefore|bedrockFinOpsMiddleware|userAfter)/.test(e))).toEqual([
      'userBefore - before bedrockFinOpsMiddleware',
      `${FINOPS_MIDDLEWARE.name} - initialize`,
      'userAfter - after bedrockFinOpsMiddleware',
    ]);
  });
});
