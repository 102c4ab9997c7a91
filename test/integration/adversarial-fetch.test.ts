import { describe, expect, it } from 'vitest';
import { bedrockFinOps, type BedrockFinOpsOptions, type UsageRecord } from '../../src/index.js';
import { encodeEventStream, encodeEventStreamMessage, type EventStreamMessage } from '../../src/testing/index.js';
import { tick } from '../helpers/bedrock.js';
import { bedrockUrl, converseRequest, fakeFetch, hex, post, readBody, sliced } from '../helpers/fetch.js';
import { converseFrames, expectNothingReserved, exposeGc, settleSoon } from '../helpers/adversary.js';

const MODEL = 'us.amazon.nova-lite-v1:0';
const STREAM_HEADERS = { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': 'req-s' };
const FRAMES = converseFrames({ inputTokens: 25, outputTokens: 9 }, 3);

/** A network body that sends one frame per read, then stalls (`tailMs` = -1) or sends the rest after `tailMs`. */
function network(messages: readonly EventStreamMessage[], first = 1, tailMs = 0) {
  const state = { cancelled: false };
  let i = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (i >= first && tailMs !== 0) {
          if (tailMs < 0) return new Promise<void>(() => undefined);
          await tick(tailMs);
        }
        const next = messages[i++];
        if (next === undefined) controller.close();
        else controller.enqueue(encodeEventStreamMessage(next));
        return undefined;
      },
      cancel() {
        state.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, state };
}

function setup(body: () => ReadableStream<Uint8Array> | Uint8Array, options: BedrockFinOpsOptions = {}) {
  const records: UsageRecord[] = [];
  const finops = bedrockFinOps({ estimator: () => 10, budgets: [{ name: 'daily', limit: { tokens: 10_000 }, window: 'total' }], onUsage: (r) => records.push(r), ...options });
  const base = fakeFetch((_input, init) => {
    if (init?.signal?.aborted === true) return Promise.reject(new DOMException('This operation was aborted', 'AbortError'));
    return new Response(body(), { headers: STREAM_HEADERS });
  });
  const call = (init: RequestInit = {}) => finops.wrapFetch(base.fetch)(bedrockUrl(MODEL, 'converse-stream'), { ...post(converseRequest('hello', 50)), ...init });
  return { finops, records, call, base };
}

async function usedTokens(finops: ReturnType<typeof bedrockFinOps>): Promise<number> {
  const [status] = await finops.budgets.status();
  return status!.used.tokens;
}

describe('fetch: what is charged', () => {
  it('a fetch aborted while its request is in flight is recorded as abandoned and charged the input estimate', async () => {
    const records: UsageRecord[] = [];
    const finops = bedrockFinOps({ estimator: () => 10, budgets: [{ name: 'daily', limit: { tokens: 10_000 }, window: 'total' }], onUsage: (r) => records.push(r) });
    // A Bedrock that takes its time: the abort comes while the request is out.
    const base = fakeFetch(
      (_input, init) =>
        new Promise<Response>((_, reject) => {
          init?.signal?.addEventListener('abort', () => reject(new DOMException('This operation was aborted', 'AbortError')));
        }),
    );
    const controller = new AbortController();
    const pending = finops.wrapFetch(base.fetch)(bedrockUrl(MODEL, 'converse-stream'), { ...post(converseRequest('hello', 50)), signal: controller.signal });
    setTimeout(() => controller.abort(), 10);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(records[0]).toMatchObject({ outcome: 'abandoned', error: 'AbortError', usageSource: 'estimate', inputTokens: 10 });
    expect(await usedTokens(finops)).toBe(10);
  });

  it('a fetch with an already-aborted signal is charged nothing', async () => {
    const { finops, records, call } = setup(() => encodeEventStream(FRAMES));
    await expect(call({ signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    // Charged: the 10-token input estimate (record: abandoned, usageSource 'estimate'). Should be: 0 — nothing left the process.
    expect({ used: await usedTokens(finops), source: records[0]?.usageSource }).toEqual({ used: 0, source: 'none' });
  });

  it('a stream read to its end whose frames cannot be decoded is charged an estimate, never 0', async () => {
    const bytes = encodeEventStream(FRAMES);
    bytes[20] = bytes[20]! ^ 0xff; // the first frame's CRC no longer matches: no later frame is read for usage
    const { finops, records, call } = setup(() => sliced(bytes, [64]));
    expect(hex(await readBody(await call()))).toBe(hex(bytes));
    // Charged the input estimate (10), never 0; the output cannot be counted from frames that do not decode.
    expect({ source: records[0]!.usageSource, used: await usedTokens(finops) }).toEqual({ source: 'estimate', used: 10 });
  });
});

describe('fetch: every way a body can end settles once and releases its reservation', () => {
  it.each([
    ['cancelled twice', async (r: Response) => {
      const reader = r.body!.getReader();
      await reader.read();
      await Promise.all([reader.cancel(), reader.cancel()]);
    }],
    ['cancelled while a read is pending', async (r: Response) => {
      const reader = r.body!.getReader();
      await reader.read();
      const pending = reader.read();
      await reader.cancel();
      await pending;
    }],
    ['cloned, one branch read to the end, the other dropped', async (r: Response) => {
      const copy = r.clone();
      await copy.arrayBuffer();
    }],
    ['read with text()', async (r: Response) => {
      await r.text();
    }],
  ])('%s: one record with the billed usage, nothing reserved', async (_, read) => {
    const { finops, records, call } = setup(() => network(FRAMES, 1, 5).stream);
    await read(await call());
    await settleSoon(() => records.length > 0);
    await tick(50);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ inputTokens: 25, outputTokens: 9, usageSource: 'usage' });
    expect(await usedTokens(finops)).toBe(34);
    await expectNothingReserved(finops);
  });

  it('a response dropped unread is drained once garbage-collected, charged what Bedrock billed', async () => {
    const gc = exposeGc();
    const { finops, records, call } = setup(() => network(FRAMES).stream);
    await (async () => {
      await call();
    })();
    await settleSoon(() => {
      gc();
      return records.length > 0;
    });
    expect(records[0]).toMatchObject({ outcome: 'abandoned', usageSource: 'usage', inputTokens: 25, outputTokens: 9 });
    await expectNothingReserved(finops);
  });

  it('shutdown() while a fetch drain is in flight: the record and the budget commit are in when shutdown resolves', async () => {
    const written: UsageRecord[] = [];
    let closed = false;
    const ledger = {
      write: (r: UsageRecord) => {
        if (!closed) written.push(r);
      },
      flush: () => Promise.resolve(),
      close: () => {
        closed = true;
        return Promise.resolve();
      },
      written: 0,
      dropped: 0,
    };
    const { finops, records, call } = setup(() => network(FRAMES, 1, -1).stream, { ledger });
    const reader = (await call()).body!.getReader();
    await reader.read();
    await reader.cancel();
    await tick(10);
    await finops.shutdown();
    // Recorded after the ledger closed: the drain's stop() only cancels the reader; the record comes a few ticks later.
    expect({ records: records.length, ledger: written.length }).toEqual({ records: 1, ledger: 1 });
    await expectNothingReserved(finops);
  });
});
