import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps, type BedrockFinOpsOptions } from '../../src/index.js';
import { converseStreamEvent, encodeEventStream, encodeEventStreamMessage, streamException, type EventStreamMessage } from '../../src/testing/index.js';
import { recorder } from '../helpers/bedrock.js';
import { bedrockUrl, converseRequest, fakeFetch, hex, post, readBody, sliced, until } from '../helpers/fetch.js';

const MODEL = 'us.amazon.nova-lite-v1:0';
const STREAM_HEADERS = { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': 'req-s' };
const delta = (text: string) => converseStreamEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text } });
const METADATA = converseStreamEvent('metadata', { usage: { inputTokens: 25, outputTokens: 9, totalTokens: 34 }, metrics: { latencyMs: 40 } });
const FULL: EventStreamMessage[] = [converseStreamEvent('messageStart', { role: 'assistant' }), delta('Hello'), delta(' world'), converseStreamEvent('messageStop', { stopReason: 'end_turn' }), METADATA];

/** A network body that sends only when read: one frame per chunk, then (optionally) endless filler frames or a stall; it says when it was cancelled. */
function networkBody(messages: readonly EventStreamMessage[], after: 'end' | 'forever' | 'stall' | 'break' = 'end') {
  const state = { cancelled: false, sent: 0 };
  let i = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = messages[i++];
      if (next !== undefined) {
        state.sent++;
        controller.enqueue(encodeEventStreamMessage(next));
      } else if (after === 'forever') controller.enqueue(encodeEventStreamMessage(delta('x'.repeat(200))));
      else if (after === 'stall') return new Promise<void>(() => undefined);
      else if (after === 'break') controller.error(new TypeError('terminated'));
      else controller.close();
      return undefined;
    },
    cancel() {
      state.cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { stream, state };
}

function setup(body: () => ReadableStream<Uint8Array>, options: BedrockFinOpsOptions = {}) {
  const { records, onUsage } = recorder();
  const finops = bedrockFinOps({ estimator: () => 10, budgets: [{ name: 'daily', limit: { tokens: 10_000 }, window: 'day' }], ...options, onUsage });
  const base = fakeFetch(() => new Response(body(), { headers: STREAM_HEADERS }));
  const stream = () => finops.wrapFetch(base.fetch)(bedrockUrl(MODEL, 'converse-stream'), post(converseRequest('hello', 50)));
  return { finops, records, stream };
}

async function used(finops: ReturnType<typeof bedrockFinOps>): Promise<unknown> {
  const [status] = await finops.budgets.status();
  return { used: status!.used.tokens, reserved: status!.reserved.tokens };
}

describe('fetch streams: reading', () => {
  it('decodes frames split at any byte boundary and hands the caller the same bytes', async () => {
    const bytes = encodeEventStream(FULL);
    const { records, stream } = setup(() => sliced(bytes, [1, 2, 3, 5, 7, 11, 13, 64]));
    expect(hex(await readBody(await stream()))).toBe(hex(bytes));
    expect(records[0]).toMatchObject({ outcome: 'success', inputTokens: 25, outputTokens: 9, usageSource: 'usage' });
  });

  it('stops metering at a corrupted frame, never the caller: the bytes still pass unchanged, the call is charged an estimate', async () => {
    const bytes = encodeEventStream(FULL);
    bytes[20] = bytes[20]! ^ 0xff; // inside the first frame's headers: its CRC no longer matches
    const { records, stream } = setup(() => sliced(bytes, [50]));
    expect(hex(await readBody(await stream()))).toBe(hex(bytes));
    // Bedrock billed the generation; with the frames unreadable, the input estimate is charged, never 0.
    expect(records[0]).toMatchObject({ outcome: 'success', usageSource: 'estimate' });
  });

  it('ends the call as failed under the SDK name of an exception frame, still passing every byte', async () => {
    const messages = [delta('Hi'), streamException('throttlingException', 'Too many tokens')];
    const { finops, records, stream } = setup(() => sliced(encodeEventStream(messages), [4096]));
    expect(hex(await readBody(await stream()))).toBe(hex(encodeEventStream(messages)));
    // The stream had started, so Bedrock may have billed it: charged an estimate (input estimate +
    // the one output token 'Hi' amounts to), never 0, as on the SDK path; the reservation is released.
    expect(records[0]).toMatchObject({ outcome: 'error', error: 'ThrottlingException', usageSource: 'estimate', outputTokens: 1 });
    expect(records[0]!.inputTokens).toBeGreaterThan(0);
    const charged = await used(finops);
    expect(charged).toEqual({ used: records[0]!.inputTokens + 1, reserved: 0 });
  });

  it('passes a broken connection on to the caller as the same error and records the call as failed', async () => {
    const { records, stream } = setup(() => networkBody([FULL[0]!, FULL[1]!], 'break').stream);
    const error = await readBody(await stream()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(records[0]).toMatchObject({ outcome: 'error', error: 'TypeError' });
  });
});

describe('fetch streams: a caller that stops early', () => {
  it('drains the rest in the background after a cancel: the record has what Bedrock billed, the budget is charged it', async () => {
    const net = networkBody(FULL);
    const { finops, records, stream } = setup(() => net.stream);
    const reader = (await stream()).body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    await reader.cancel();
    await until(() => records.length === 1, 'the record');
    // The caller read one frame; the plugin read the other four for the usage, and kept none of them.
    expect(net.state.sent).toBe(5);
    expect(records[0]).toMatchObject({ outcome: 'abandoned', inputTokens: 25, outputTokens: 9, usageSource: 'usage' });
    expect(await used(finops)).toEqual({ used: 34, reserved: 0 });
  });

  it('with drainAbandonedStreams: false, lets go of the connection at once and records the call as abandoned without the usage it never read', async () => {
    const net = networkBody(FULL);
    const { records, stream } = setup(() => net.stream, { drainAbandonedStreams: false });
    const reader = (await stream()).body!.getReader();
    await reader.read();
    await reader.cancel();
    await until(() => records.length === 1, 'the record');
    expect(net.state.cancelled).toBe(true);
    expect(net.state.sent).toBe(1);
    expect(records[0]).toMatchObject({ outcome: 'abandoned' });
    expect(records[0]!.usageSource).not.toBe('usage');
  });

  it.each([
    ['never ends, at maxBytes', 'forever', { maxBytes: 4096 }],
    ['stalls, at timeoutMs', 'stall', { timeoutMs: 20 }],
  ] as const)('stops draining a stream that %s, cancels it and releases the reservation', async (_what, after, drain) => {
    const net = networkBody([FULL[0]!], after);
    const { finops, records, stream } = setup(() => net.stream, { drainAbandonedStreams: drain });
    const reader = (await stream()).body!.getReader();
    await reader.read();
    await reader.cancel();
    await until(() => records.length === 1, 'the record');
    expect(net.state.cancelled).toBe(true);
    // Filler frames are ~250 bytes: the drain read about maxBytes' worth, never on without bound.
    expect(net.state.sent).toBeLessThan(4096 / 200 + 3);
    expect(records[0]).toMatchObject({ outcome: 'abandoned' });
    // No usage ever came: nothing stays reserved (what is charged for it is the settlement's estimate policy).
    const [status] = await finops.budgets.status();
    expect(status!.reserved.tokens).toBe(0);
  });

  it('drains a response the caller drops unread once it is garbage-collected', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const net = networkBody(FULL);
    const { records, stream } = setup(() => net.stream);
    await (async () => {
      await stream(); // the response is dropped here, its body never touched
    })();
    await until(() => {
      gc();
      return records.length === 1;
    }, 'the record of the dropped stream');
    expect(records[0]).toMatchObject({ outcome: 'abandoned', inputTokens: 25, outputTokens: 9 });
  });
});
