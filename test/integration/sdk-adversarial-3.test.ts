import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConverseCommand, ConverseStreamCommand, InvokeModelWithResponseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps, type UsageRecord } from '../../src/index.js';
import { jsonlLedger } from '../../src/ledger/index.js';
import { encodeEventStream, invokeStreamChunk, type EventStreamMessage } from '../../src/testing/index.js';
import { HttpResponse } from 'msw';
import { converseReply, eventStream, jsonBody, makeClient, on, say, tick, useMockBedrock } from '../helpers/bedrock.js';
import { captureDiag, captureUnhandled, converseFrames, expectNothingReserved, exposeGc, HAIKU, hostileSetup, settleSoon, slowTail } from '../helpers/adversary.js';

// The SDK call path's billing edges, third adversarial pass: how a caller reads a stream by hand,
// and what a user's onUsage does with the record. Each test says what was charged, released and
// recorded.

const server = useMockBedrock();
const budget = { name: 'b', limit: { tokens: 1_000_000, costUsd: 100 }, window: 'day' as const };

/** An Anthropic InvokeModelWithResponseStream: Bedrock's billed 1,000 in / 50 out in the final chunk. */
const claudeChunks: EventStreamMessage[] = [
  invokeStreamChunk({ type: 'message_start', message: { usage: { input_tokens: 1_000, output_tokens: 1 } } }),
  invokeStreamChunk({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } }),
  invokeStreamChunk({ type: 'message_delta', usage: { output_tokens: 50 }, 'amazon-bedrock-invocationMetrics': { inputTokenCount: 1_000, outputTokenCount: 50 } }),
];

type Setup = ReturnType<typeof hostileSetup>;
/** Sends one stream call of `kind` and returns its event stream. */
async function streamOf(kind: 'ConverseStream' | 'InvokeModelWithResponseStream', client: Setup['client']): Promise<AsyncIterable<unknown>> {
  if (kind === 'ConverseStream') return (await client.send(new ConverseStreamCommand(say('x', HAIKU, 100)))).stream!;
  return (await client.send(new InvokeModelWithResponseStreamCommand({ modelId: HAIKU, body: jsonBody({ max_tokens: 100, messages: [] }) }))).body!;
}

function answerStreams(first?: number): void {
  const converse = converseFrames({ inputTokens: 1_000, outputTokens: 50 }, 1);
  // `first` frames at once, the rest 40 ms later (so a read can be pending when the caller stops).
  server.use(
    on('converse-stream', () => (first === undefined ? eventStream(converse) : slowTail(converse, converse.length - first, 40))),
    on('invoke-with-response-stream', () => (first === undefined ? eventStream(claudeChunks) : slowTail(claudeChunks, claudeChunks.length - first, 40))),
  );
}

describe('a stream read by hand', () => {
  it.each(['ConverseStream', 'InvokeModelWithResponseStream'] as const)(
    '%s: an iterator read once and let go (never finished, never returned) is drained once collected, charged the billed usage, nothing left reserved',
    async (kind) => {
      const gc = exposeGc();
      answerStreams();
      const { client, records, finops } = hostileSetup({ estimator: () => 900, budgets: [budget] });
      await (async () => {
        const it = (await streamOf(kind, client))[Symbol.asyncIterator]();
        await it.next();
      })();
      await settleSoon(() => {
        gc();
        return records.length > 0;
      });
      // Before: nothing recorded, ever, and the 1,000-token reservation (900 estimated in + 100 max out) held
      // until the window ended: opening the iterator took the stream off the collected-stream registry.
      // Now: recorded once as abandoned, charged Bedrock's billed 1,000 in / 50 out, reservation released.
      expect(records.map((r) => [r.outcome, r.usageSource, r.inputTokens, r.outputTokens])).toEqual([['abandoned', kind === 'ConverseStream' ? 'usage' : 'invocation-metrics', 1_000, 50]]);
      const [status] = await finops.budgets.status();
      expect(status!.used.tokens).toBe(1_050);
      await expectNothingReserved(finops);
    },
  );

  it.each(['ConverseStream', 'InvokeModelWithResponseStream'] as const)(
    '%s: return() while a next() is pending (a read raced against a timeout): the usage that read brings is what is charged',
    async (kind) => {
      answerStreams(1);
      const { client, records, finops } = hostileSetup({ estimator: () => 900, budgets: [budget] });
      const stream = await streamOf(kind, client);
      const it = stream[Symbol.asyncIterator]();
      const before = kind === 'ConverseStream' ? 4 : 2;
      for (let i = 0; i < before; i++) await it.next();
      // The caller's read of the last event (the metadata event / the final chunk) is pending when it stops.
      const pending = it.next();
      await it.return!();
      const last = await pending;
      expect(last.done).toBe(false);
      await settleSoon(() => records.length > 0);
      // Before: the drain read after the pending read and never saw that event: recorded 'estimate',
      // 900 (or the family's 1,000) in / 2 out, so 48 billed output tokens were never charged.
      // Now: recorded once as abandoned with Bedrock's billed 1,000 in / 50 out; the reservation released.
      expect(records.map((r) => [r.outcome, r.usageSource, r.inputTokens, r.outputTokens])).toEqual([['abandoned', kind === 'ConverseStream' ? 'usage' : 'invocation-metrics', 1_000, 50]]);
      const [status] = await finops.budgets.status();
      expect(status!.used.tokens).toBe(1_050);
      await expectNothingReserved(finops);
    },
  );
});

describe('shutdown()', () => {
  it('a stream the caller stops after shutdown() is closed and settled at once with an estimate, not drained past shutdown; nothing reserved', async () => {
    // Two events now, the rest never: a model still generating.
    const head = encodeEventStream(converseFrames({ inputTokens: 1_000, outputTokens: 50 }, 1).slice(0, 2));
    server.use(
      on('converse-stream', () => {
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(head);
          },
        });
        return new HttpResponse(body, { headers: { 'content-type': 'application/vnd.amazon.eventstream' } });
      }),
    );
    const { client, records, finops } = hostileSetup({ estimator: () => 900, budgets: [budget], drainAbandonedStreams: { timeoutMs: 60_000 } });
    const stream = await streamOf('ConverseStream', client);
    await finops.shutdown();
    // Graceful shutdown: the application stops reading a stream it still had.
    for await (const _ of stream) break;
    await settleSoon(() => records.length > 0);
    // Before: a drain started after shutdown() and held the connection (and the process) open for up to
    // the drain's minute, the call unsettled and its 1,000 tokens reserved all that time.
    // Now: not drained (the stream is returned at once, as with the drain off); recorded abandoned, charged
    // the 900-token input estimate and no output (it read only messageStart; 'estimate'); the reservation released.
    expect(records.map((r) => [r.outcome, r.usageSource, r.inputTokens, r.outputTokens])).toEqual([['abandoned', 'estimate', 900, 0]]);
    await expectNothingReserved(finops);
  });
});

describe("the user's onUsage", () => {
  it('an async onUsage that rejects is reported, never an unhandled rejection (which ends a Node process); the call resolves, charged once', async () => {
    server.use(on('converse', () => converseReply({ inputTokens: 100, outputTokens: 10 })));
    const unhandled = captureUnhandled();
    const diag = captureDiag();
    try {
      // What a JavaScript caller (or one whose linter allows it) passes: an async function, typed to return nothing.
      const asyncOnUsage = async (): Promise<void> => {
        await Promise.resolve();
        throw new Error('sink down');
      };
      // eslint-disable-next-line @typescript-eslint/no-misused-promises -- the attack itself: an async onUsage
      const finops = bedrockFinOps({ budgets: [budget], onUsage: asyncOnUsage });
      const client = makeClient(finops, { maxAttempts: 1 });
      await expect(client.send(new ConverseCommand(say('x', HAIKU, 100)))).resolves.toBeDefined();
      await tick(20);
      // Before: the rejection was left unhandled (Node's default ends the process on it).
      // Now: reported through diag, named; the budget charged the call's 100 in / 10 out once, nothing reserved.
      expect(unhandled.reasons).toEqual([]);
      expect(diag.messages.some((m) => m.includes('usage sink rejected') && m.includes('Error'))).toBe(true);
      const [status] = await finops.budgets.status();
      expect(status!.used.tokens).toBe(110);
      await expectNothingReserved(finops);
    } finally {
      unhandled.stop();
      diag.stop();
    }
  });

  it('an onUsage that rewrites the record changes neither the ledger line nor the budget: every sink gets one immutable record', async () => {
    server.use(on('converse', () => converseReply({ inputTokens: 5_000, outputTokens: 5 })));
    const dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-adv3-'));
    try {
      const path = join(dir, 'usage.jsonl');
      const seen: UsageRecord[] = [];
      const finops = bedrockFinOps({
        budgets: [budget],
        ledger: jsonlLedger({ path, flushIntervalMs: 10 }),
        onUsage: (r) => {
          seen.push(r);
          // A JavaScript caller "redacting" a record it was handed (the type says readonly).
          const m = r as { inputTokens: number; costUsd: number | undefined };
          m.inputTokens = 0;
          m.costUsd = 0;
        },
      });
      const client = makeClient(finops, { maxAttempts: 1 });
      await client.send(new ConverseCommand(say('x', HAIKU, 100)));
      const [status] = await finops.budgets.status();
      await finops.shutdown();
      const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.includes('"operation":"Converse"'));
      const written = JSON.parse(lines[0]!) as UsageRecord;
      // Before: the ledger (which buffers the record object) wrote inputTokens 0 and costUsd 0 for a call
      // Bedrock billed 5,000 in / 5 out at $0.00402. Now: the record is frozen, the write throws in onUsage
      // (reported), and the ledger writes what was billed; the budget charged 5,005 tokens, nothing reserved.
      expect(lines).toHaveLength(1);
      expect({ input: written.inputTokens, cost: written.costUsd }).toEqual({ input: 5_000, cost: 0.00402 });
      expect(Object.isFrozen(seen[0])).toBe(true);
      expect(status!.used.tokens).toBe(5_005);
      expect(status!.reserved.tokens).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
