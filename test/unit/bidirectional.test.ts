import type { HandlerExecutionContext, InitializeHandlerArguments } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps, type UsageRecord } from '../../src/index.js';
import { FINOPS_MIDDLEWARE } from '../../src/middleware.js';

type Middleware = (next: (args: unknown) => Promise<unknown>, context: HandlerExecutionContext) => (args: InitializeHandlerArguments<object>) => Promise<{ output: { body: AsyncIterable<unknown> } }>;

/** Captures the plugin's middleware so it can run around a fake `next` (the bidirectional stream needs HTTP/2). */
function capture(onUsage: (r: UsageRecord) => void): Middleware {
  let mw: Middleware | undefined;
  bedrockFinOps({ onUsage }).applyToStack({
    add: (m: Middleware, options: { name: string }) => {
      if (options.name === FINOPS_MIDDLEWARE.name) mw = m;
    },
  } as never);
  return mw!;
}

const enc = new TextEncoder();
const chunk = (event: unknown) => ({ chunk: { bytes: enc.encode(JSON.stringify({ event })) } });

async function* sonicOutput(breakAfter?: number) {
  const events = [
    chunk({ completionStart: { sessionId: 's' } }),
    chunk({ audioOutput: { content: 'A'.repeat(20_000) } }),
    chunk({ usageEvent: { totalInputTokens: 120, totalOutputTokens: 40, totalTokens: 160 } }),
    chunk({ textOutput: { content: 'hello' } }),
    chunk({ usageEvent: { totalInputTokens: 300, totalOutputTokens: 90, totalTokens: 390, details: {} } }),
    chunk({ completionEnd: {} }),
  ];
  for (let i = 0; i < events.length; i++) {
    if (i === breakAfter) throw Object.assign(new Error('stream broke'), { name: 'ModelStreamErrorException' });
    yield events[i];
  }
}

describe('InvokeModelWithBidirectionalStream', () => {
  const ctx = { commandName: 'InvokeModelWithBidirectionalStreamCommand' } as HandlerExecutionContext;
  const args = { input: { modelId: 'amazon.nova-sonic-v1:0', body: (async function* () {})() } } as unknown as InitializeHandlerArguments<object>;

  it('passes the output stream through untouched and records the last cumulative usage event', async () => {
    const records: UsageRecord[] = [];
    const handler = capture((r) => records.push(r))(async () => ({ output: { body: sonicOutput(), $metadata: {} } }), ctx);
    const { output } = await handler(args);
    const seen: unknown[] = [];
    for await (const e of output.body) seen.push(e);
    const expected: unknown[] = [];
    for await (const e of sonicOutput()) expected.push(e);
    expect(seen).toEqual(expected);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ operation: 'InvokeModelWithBidirectionalStream', inputTokens: 300, outputTokens: 90, outcome: 'success' });
  });

  it('records unknown usage for a session without usage events, and never breaks the stream', async () => {
    const records: UsageRecord[] = [];
    const handler = capture((r) => records.push(r))(
      async () => ({ output: { body: (async function* () { yield { chunk: { bytes: enc.encode('not json') } }; yield { other: 1 }; })(), $metadata: {} } }),
      ctx,
    );
    const { output } = await handler(args);
    const seen: unknown[] = [];
    for await (const e of output.body) seen.push(e);
    expect(seen).toHaveLength(2);
    // Bedrock may have billed the session, but nothing in it says how much (no estimate of audio input exists): an estimate of 0.
    expect(records[0]).toMatchObject({ usageSource: 'estimate', inputTokens: 0, outcome: 'success' });
  });

  it('settles a broken session with what it saw', async () => {
    const records: UsageRecord[] = [];
    const handler = capture((r) => records.push(r))(async () => ({ output: { body: sonicOutput(4), $metadata: {} } }), ctx);
    const { output } = await handler(args);
    await expect(async () => {
      for await (const _ of output.body) {
        /* read */
      }
    }).rejects.toThrow('stream broke');
    expect(records[0]).toMatchObject({ outcome: 'error', error: 'ModelStreamErrorException', inputTokens: 120, outputTokens: 40 });
  });

  it('prices Nova Sonic speech tokens at the audio rates and text tokens at the text rates', async () => {
    const records: UsageRecord[] = [];
    const usage = {
      totalInputTokens: 1_100,
      totalOutputTokens: 550,
      totalTokens: 1_650,
      details: { total: { input: { speechTokens: 1_000, textTokens: 100 }, output: { speechTokens: 500, textTokens: 50 } } },
    };
    const handler = capture((r) => records.push(r))(async () => ({ output: { body: (async function* () { yield chunk({ usageEvent: usage }); })(), $metadata: {} } }), ctx);
    const { output } = await handler(args);
    for await (const _ of output.body) {
      /* read */
    }
    // amazon.nova-sonic-v1:0: text $0.06 / $0.24, speech $3.40 / $13.60 per million tokens.
    const expected = (100 * 0.06 + 1_000 * 3.4 + 50 * 0.24 + 500 * 13.6) / 1e6;
    expect(records[0]).toMatchObject({ inputTokens: 1_100, outputTokens: 550, speechInputTokens: 1_000, speechOutputTokens: 500 });
    expect(records[0]!.costUsd).toBeCloseTo(expected, 12);
    // Priced as text, it would have been 54× cheaper.
    expect(records[0]!.costUsd! / ((1_100 * 0.06 + 550 * 0.24) / 1e6)).toBeGreaterThan(50);
  });
});
