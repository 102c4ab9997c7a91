import { ConverseCommand, ConverseStreamCommand, InvokeModelCommand } from '@aws-sdk/client-bedrock-runtime';
import { context, propagation } from '@opentelemetry/api';
import { HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { attribute, withAttribution } from '../../src/index.js';
import { converseStreamEvent, encodeEventStream } from '../../src/testing/index.js';
import { converseReply, drain, json, jsonBody, on, say, useMockBedrock } from '../helpers/bedrock.js';
import { captureDiag, converseFrames, expectNothingReserved, HAIKU, hostileSetup, settleSoon, useOtelContext } from '../helpers/adversary.js';

const server = useMockBedrock();
useOtelContext();

const OPUS = 'us.anthropic.claude-opus-4-1-20250805-v1:0'; // $15 in, $75 out, $1.50 cache read, $18.75 cache write per million

describe('response bodies and headers with absurd values', () => {
  it('a response naming the service tier "constructor" is priced like any unknown tier, never NaN or $0', async () => {
    server.use(on('converse', () => converseReply({ inputTokens: 1_000, outputTokens: 100 }, 'x', { serviceTier: { type: 'constructor' } })));
    const { client, records, finops } = hostileSetup({ estimator: () => 1_000, budgets: [{ name: 'usd', limit: { costUsd: 1 }, window: 'total' }] });
    await client.send(new ConverseCommand(say('x', HAIKU, 100)));
    const [status] = await finops.budgets.status();
    // Recorded: costUsd NaN (serviceTiers['constructor'] is Object); the budget is charged $0. Should be: $0.0012 at ×1.
    expect({ cost: records[0]!.costUsd, charged: status!.used.costUsd }).toEqual({ cost: 0.0012, charged: 0.0012 });
  });

  it('a Converse answer whose token counts are negative is charged the estimate, like one whose counts are 1e15', async () => {
    server.use(on('converse', () => converseReply({ inputTokens: -1, outputTokens: -1 })));
    const { client, records } = hostileSetup({ estimator: () => 1_000, budgets: [{ name: 'five-k', limit: { tokens: 5_000 }, window: 'total' }] });
    let admitted = 0;
    for (let i = 0; i < 10; i++) await client.send(new ConverseCommand(say('x', HAIKU, 100))).then(() => admitted++, () => undefined);
    // Recorded: usageSource 'none', 0 tokens; charged 0, so all 10 calls of 1,100 reserved tokens reach Bedrock under a
    // 5,000 budget (the same with "NaN", "lots", or no usage block at all). With counts of 1e15 the same calls are
    // charged their 1,000-token estimate (usageSource 'estimate') and 4 are admitted.
    expect({ source: records[0]!.usageSource, admitted }).toEqual({ source: 'estimate', admitted: 4 });
  });

  it('token counts just under the ceiling in every header are not believed for a 10-token call', async () => {
    const huge = '9999999';
    server.use(
      on('invoke', () =>
        json(
          { content: [] },
          {
            'x-amzn-bedrock-input-token-count': huge,
            'x-amzn-bedrock-output-token-count': huge,
            'x-amzn-bedrock-cache-read-input-token-count': huge,
            'x-amzn-bedrock-cache-write-input-token-count': huge,
          },
        ),
      ),
    );
    const { client, records, finops } = hostileSetup({ estimator: () => 20, budgets: [{ name: 'usd', limit: { costUsd: 1_000 }, window: 'total' }] });
    await client.send(new InvokeModelCommand({ modelId: OPUS, body: jsonBody({ max_tokens: 10, messages: [] }) }));
    const [status] = await finops.budgets.status();
    // Recorded and charged: 39,999,996 tokens, $1,102.50 for a call with max_tokens 10 (each field is under the
    // 10,000,000 per-field ceiling), so one forged response exhausts a $1,000 budget.
    expect(status!.used.costUsd).toBeLessThan(1);
    expect(records[0]!.outputTokens).toBeLessThanOrEqual(10);
  });

  it('malformed event-stream frames end the call as an error charged an estimate; nothing stays reserved', async () => {
    const good = encodeEventStream(converseFrames({ inputTokens: 1_000, outputTokens: 50 }, 2).slice(0, 2));
    const garbage = new Uint8Array(64).fill(0xff);
    server.use(on('converse-stream', () => new HttpResponse(new Blob([good, garbage]).stream(), { headers: { 'content-type': 'application/vnd.amazon.eventstream' } })));
    const { client, records, finops } = hostileSetup({ estimator: () => 800, budgets: [{ name: 'b', limit: { tokens: 1e6 }, window: 'total' }] });
    const out = await client.send(new ConverseStreamCommand(say('x', HAIKU, 100)));
    await expect(drain(out.stream)).rejects.toBeDefined();
    await settleSoon(() => records.length > 0);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ outcome: 'error', usageSource: 'estimate', inputTokens: 800 });
    await expectNothingReserved(finops);
  });

  it('a metadata event with a usage of absurd shape never throws into the stream', async () => {
    const frames = [
      converseStreamEvent('messageStart', { role: 'assistant' }),
      converseStreamEvent('messageStop', { stopReason: 'end_turn' }),
      converseStreamEvent('metadata', { usage: { inputTokens: 1e308, outputTokens: -5, cacheReadInputTokens: 'x', cacheWriteInputTokens: [1] }, serviceTier: { type: '__proto__' }, trace: { promptRouter: { invokedModelId: 'constructor' } } }),
    ];
    server.use(on('converse-stream', () => new HttpResponse(new Blob([encodeEventStream(frames)]).stream(), { headers: { 'content-type': 'application/vnd.amazon.eventstream' } })));
    const { client, records, finops } = hostileSetup({ estimator: () => 800, unpricedModels: 'warn', budgets: [{ name: 'b', limit: { tokens: 1e6, costUsd: 10 }, window: 'total' }] });
    const out = await client.send(new ConverseStreamCommand(say('x', HAIKU, 100)));
    await expect(drain(out.stream)).resolves.toHaveLength(3);
    expect(records).toHaveLength(1);
    expect(records[0]!.inputTokens).toBeLessThanOrEqual(10_000_000);
    await expectNothingReserved(finops);
  });
});

describe('attribution from untrusted data never throws', () => {
  const throwingGetter = Object.defineProperty({}, 'team', {
    enumerable: true,
    get() {
      throw new Error('getter');
    },
  });
  it('withAttribution and attribute given an object whose getter throws run the call (attribution dropped)', async () => {
    server.use(on('converse', () => converseReply()));
    const { client, records } = hostileSetup();
    const hostile = throwingGetter as Record<string, string>;
    const viaScope = await Promise.resolve()
      .then(() => withAttribution(hostile, () => client.send(new ConverseCommand(say()))))
      .then(() => 'sent', (e: unknown) => `threw ${(e as Error).message}`);
    const viaCommand = await Promise.resolve()
      .then(() => client.send(attribute(new ConverseCommand(say()), hostile)))
      .then(() => 'sent', (e: unknown) => `threw ${(e as Error).message}`);
    // Both throw the getter's error into the caller, nothing is sent (a Proxy whose ownKeys trap throws does the same,
    // and so does finops.budgets.check(hostile, …), synchronously).
    expect([viaScope, viaCommand, records.length]).toEqual(['sent', 'sent', 2]);
  });

  it('keys and values of every hostile shape are normalised or dropped, and bounded, in scopes, commands and baggage', async () => {
    server.use(on('converse', () => converseReply()));
    const { client, records, finops } = hostileSetup({
      attributionFromBaggage: true,
      budgets: [
        { name: 'per-ctor', per: 'constructor', limit: { tokens: 1e6 }, window: 'total' },
        { name: 'per-proto', per: 'proto', limit: { tokens: 1e6 }, window: 'total' },
      ],
    });
    // 5,000 filler keys first: the last 32 keys are the ones kept.
    const filler = JSON.stringify(Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, `v${i}`])));
    const hostile: Record<string, unknown> = JSON.parse(`${filler.slice(0, -1)}, "__proto__": "p", "constructor": "c", "Team-Name": "t", "": "e", "9lives": "n"}`) as Record<string, unknown>;
    hostile.huge = 'v'.repeat(1_000_000);
    hostile.num = 42;
    hostile.sym = Symbol('s');
    hostile.obj = { toString: () => 'x' };
    Object.defineProperty(hostile, Symbol('key'), { value: 'sym', enumerable: true });
    const entries: [string, { value: string }][] = [...Array.from({ length: 1_000 }, (_, i): [string, { value: string }] => [`b${i}`, { value: 'x' }]), ['__proto__', { value: 'bp' }], ['Tenant-Id', { value: 'b'.repeat(10_000) }]];
    const baggage = propagation.createBaggage(Object.fromEntries(entries));
    await context.with(propagation.setBaggage(context.active(), baggage), () =>
      withAttribution(hostile as Record<string, string>, () => client.send(attribute(new ConverseCommand(say()), hostile as Record<string, string>))),
    );
    const a = records[0]!.attribution;
    expect(a).toMatchObject({ proto: 'p', constructor: 'c', team_name: 't', num: '42' });
    expect(Object.keys(a).length).toBeLessThanOrEqual(64);
    expect(Math.max(...Object.values(a).map((v) => v.length))).toBeLessThanOrEqual(128);
    expect((await finops.budgets.status()).map((s) => [s.budget, s.key, s.used.tokens])).toEqual([
      ['per-ctor', 'c', 2],
      ['per-proto', 'p', 2],
    ]);
  });
});

describe('no prompt text reaches diagnostics', () => {
  it('an estimator that throws with the prompt in its message does not put it in a diag message', async () => {
    server.use(on('converse', () => converseReply()));
    const diag = captureDiag();
    try {
      const { client } = hostileSetup({
        estimator: (request) => {
          throw new Error(`cannot tokenize ${JSON.stringify(request.input)}`);
        },
        budgets: [{ name: 'b', limit: { tokens: 1e6 }, window: 'total' }],
      });
      await client.send(new ConverseCommand(say('MY SECRET PROMPT', HAIKU)));
      // Logged: "bedrock-finops: the input estimator threw; using the heuristic: Error: cannot tokenize {…"MY SECRET PROMPT"…}".
      expect(diag.messages.join('\n')).not.toContain('MY SECRET PROMPT');
    } finally {
      diag.stop();
    }
  });

  it('a model id of absurd length is cut in every diag message', async () => {
    server.use(on('converse', () => converseReply()), on('count-tokens', () => json({ message: 'no' }, {}, 500)));
    const diag = captureDiag();
    const id = `us.anthropic.claude-${'x'.repeat(8_000)}`;
    try {
      const { client } = hostileSetup({
        estimator: 'count-tokens',
        countTokensClient: { send: () => Promise.reject(new Error('CountTokens down')) },
        budgets: [{ name: 'b', limit: { tokens: 1e6 }, window: 'total' }],
      });
      await client.send(new ConverseCommand(say('x', id))).catch(() => undefined);
      // The count-tokens fallback warning carries all 8,000+ characters of the id ("CountTokens failed for us.anthropic.claude-xxx…").
      expect(Math.max(...diag.messages.map((m) => m.length))).toBeLessThan(1_000);
    } finally {
      diag.stop();
    }
  });
});
