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
    expect(records[0]).toMatchObject({ usageSource: 'none', inputTokens: 0, outcome: 'success' });
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
});
