import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { Drains } from '../../src/usage/drains.js';
import { observeStream, type StreamEnd } from '../../src/usage/observed-stream.js';

async function* numbers(n: number, failAt?: number, delayMs = 0): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) {
    if (i === failAt) throw new Error('broken');
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    yield i;
  }
}

function observer() {
  const events: number[] = [];
  const ends: [StreamEnd, unknown][] = [];
  return { events, ends, event: (v: number) => events.push(v), size: () => 10, end: (how: StreamEnd, error: unknown) => ends.push([how, error]) };
}

/** A source that records whether it was closed. */
function closable(n: number, delayMs = 0) {
  const state = { closed: false };
  async function* source() {
    try {
      yield* numbers(n, undefined, delayMs);
    } finally {
      state.closed = true;
    }
  }
  return { source: source(), state };
}

const until = async (done: () => boolean) => {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
};

const noDrain = new Drains(undefined);
const drain = (timeoutMs = 5_000, maxBytes = 1_000_000) => new Drains({ timeoutMs, maxBytes });

describe('observeStream', () => {
  it('passes every event through in order and ends once as completed', async () => {
    const o = observer();
    const seen: number[] = [];
    for await (const v of observeStream(numbers(5), o, drain())) seen.push(v);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(o.events).toEqual([0, 1, 2, 3, 4]);
    expect(o.ends).toEqual([['completed', undefined]]);
  });

  it('ends once as failed with the error, and rethrows it to the caller', async () => {
    const o = observer();
    await expect(async () => {
      for await (const _ of observeStream(numbers(5, 2), o, drain())) {
        /* read */
      }
    }).rejects.toThrow('broken');
    expect(o.ends).toHaveLength(1);
    expect(o.ends[0]![0]).toBe('failed');
    expect((o.ends[0]![1] as Error).message).toBe('broken');
  });

  it('on break, returns to the caller at once and reads the rest in the background before ending as abandoned', async () => {
    const o = observer();
    const { source, state } = closable(10, 2);
    const seen: number[] = [];
    for await (const v of observeStream(source, o, drain())) {
      seen.push(v);
      if (v === 1) break;
    }
    expect(seen).toEqual([0, 1]);
    expect(o.ends).toEqual([]);
    await until(() => o.ends.length > 0);
    // The observer saw every event (what the usage event needs); the caller saw only two.
    expect(o.events).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(o.ends).toEqual([['abandoned', undefined]]);
    expect(state.closed).toBe(true);
  });

  it('stops draining after maxBytes and closes the source', async () => {
    const o = observer();
    const { source, state } = closable(1_000);
    for await (const _ of observeStream(source, o, drain(5_000, 35))) break;
    await until(() => o.ends.length > 0);
    // 10 bytes an event: the drain stops once more than 35 bytes were read after the break.
    expect(o.events).toEqual([0, 1, 2, 3, 4]);
    expect(o.ends).toEqual([['abandoned', undefined]]);
    await until(() => state.closed);
    expect(state.closed).toBe(true);
  });

  it('stops draining after timeoutMs', async () => {
    const o = observer();
    const { source } = closable(1_000, 20);
    for await (const _ of observeStream(source, o, drain(50))) break;
    await until(() => o.ends.length > 0);
    expect(o.ends).toEqual([['abandoned', undefined]]);
    expect(o.events.length).toBeLessThan(1_000);
  });

  it('ends drains in flight at once when stopped (shutdown)', async () => {
    const o = observer();
    const drains = drain();
    const { source } = closable(1_000, 20);
    for await (const _ of observeStream(source, o, drains)) break;
    expect(drains.size).toBe(1);
    drains.stopAll();
    expect(o.ends).toEqual([['abandoned', undefined]]);
    expect(drains.size).toBe(0);
  });

  it('with draining off, ends as abandoned at once and closes the source', async () => {
    const o = observer();
    const { source, state } = closable(10);
    for await (const v of observeStream(source, o, noDrain)) if (v === 1) break;
    expect(o.ends).toEqual([['abandoned', undefined]]);
    await until(() => state.closed);
    expect(state.closed).toBe(true);
    expect(o.events).toEqual([0, 1]);
  });

  it('ignores reads after the end', async () => {
    const o = observer();
    const it = observeStream(numbers(1), o, drain())[Symbol.asyncIterator]();
    await it.next();
    await it.next();
    await it.next();
    await it.return?.();
    expect(o.ends).toEqual([['completed', undefined]]);
  });

  it('drains a stream that is dropped unread once it is garbage-collected, then settles it as abandoned', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const o = observer();
    (() => {
      observeStream(numbers(3), o, drain());
    })();
    for (let i = 0; i < 20 && o.ends.length === 0; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(o.events).toEqual([0, 1, 2]);
    expect(o.ends).toEqual([['abandoned', undefined]]);
  });
});
