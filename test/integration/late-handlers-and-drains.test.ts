import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps, type BudgetEvent, type UsageRecord } from '../../src/index.js';
import { encodeEventStream } from '../../src/testing/index.js';
import { converseReply, makeClient, on, say, tick, useMockBedrock } from '../helpers/bedrock.js';
import { captureDiag, captureUnhandled, converseFrames, expectNothingReserved, HAIKU } from '../helpers/adversary.js';
import { bedrockUrl, converseRequest, post } from '../helpers/fetch.js';

// Two leftovers of the adversarial passes on the SDK path: an async onBudgetEvent that rejects,
// and a fetch body the caller cancels after shutdown(). Each test says what was charged, released
// and recorded.

const server = useMockBedrock();

describe('an async onBudgetEvent', () => {
  it('that rejects is reported through diag, never an unhandled rejection; the call goes on, charged once', async () => {
    server.use(on('converse', () => converseReply({ inputTokens: 900, outputTokens: 10 })));
    const unhandled = captureUnhandled();
    const diag = captureDiag();
    try {
      const events: BudgetEvent['type'][] = [];
      // What a JavaScript caller passes: an async handler, typed to return nothing.
      const asyncHandler = async (event: BudgetEvent): Promise<void> => {
        events.push(event.type);
        await Promise.resolve();
        throw new Error('pager down');
      };
      const finops = bedrockFinOps({
        // 50% of 1,000 crossed by the first call's 910 tokens: one threshold event.
        budgets: [{ name: 'b', limit: { tokens: 1_000 }, window: 'day', alertAt: [0.5] }],
        // eslint-disable-next-line @typescript-eslint/no-misused-promises -- the attack itself: an async handler
        onBudgetEvent: asyncHandler,
      });
      const client = makeClient(finops, { maxAttempts: 1 });
      await expect(client.send(new ConverseCommand(say('x', HAIKU, 10)))).resolves.toBeDefined();
      await tick(20);
      // Before: the handler's rejection was left unhandled (Node's default ends the process on it).
      expect(events).toContain('threshold');
      expect(unhandled.reasons).toEqual([]);
      // Reported by name only (an error's message may carry content).
      expect(diag.messages).toEqual(['bedrock-finops: onBudgetEvent rejected (the call is unaffected): Error']);
      // Charged the call's 900 in + 10 out once; nothing left reserved.
      const [status] = await finops.budgets.status();
      expect(status!.used.tokens).toBe(910);
      await expectNothingReserved(finops);
    } finally {
      unhandled.stop();
      diag.stop();
    }
  });
});

describe('a fetch stream body cancelled after shutdown()', () => {
  it('is not read on in the background: it settles at once as abandoned, charged its estimate, and its source is cancelled', async () => {
    const frames = encodeEventStream(converseFrames({ inputTokens: 1_000, outputTokens: 50 }, 3));
    let cancelled = false;
    // The first 20 bytes at once; the rest never comes (a stalled connection) unless the body is cancelled.
    const source = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(frames.slice(0, 20));
      },
      cancel() {
        cancelled = true;
      },
    });
    const records: UsageRecord[] = [];
    const finops = bedrockFinOps({
      budgets: [{ name: 'b', limit: { tokens: 1_000_000 }, window: 'day' }],
      onUsage: (r) => records.push(r),
      drainAbandonedStreams: { timeoutMs: 60_000, maxBytes: 1_000_000 },
    });
    const metered = finops.wrapFetch(() => Promise.resolve(new Response(source, { headers: { 'content-type': 'application/vnd.amazon.eventstream' } })));
    const response = await metered(bedrockUrl(HAIKU, 'converse-stream'), post(converseRequest('x'.repeat(400), 100)));
    const reader = response.body!.getReader();
    await reader.read();
    await finops.shutdown();
    await reader.cancel();
    await tick(20);
    // Before: the body was drained in the background for up to the 60 s timeout (keeping the
    // connection, and the process, open) and the call stayed unsettled and reserved all along.
    expect(cancelled).toBe(true);
    expect(records).toHaveLength(1);
    expect(records[0]!.outcome).toBe('abandoned');
    // Charged the input estimate (the 400-character prompt) and no output: nothing was seen.
    expect(records[0]!.inputTokens).toBeGreaterThan(0);
    expect(records[0]!.outputTokens).toBe(0);
    await expectNothingReserved(finops);
  });
});
