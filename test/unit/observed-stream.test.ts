import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { observeStream, type StreamEnd } from '../../src/usage/observed-stream.js';

async function* numbers(n: number, failAt?: number): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) {
    if (i === failAt) throw new Error('broken');
    yield i;
  }
}

function observer() {
  const events: number[] = [];
  const ends: [StreamEnd, unknown][] = [];
  return { events, ends, event: (v: number) => events.push(v), end: (how: StreamEnd, error: unknown) => ends.push([how, error]) };
}

describe('observeStream', () => {
  it('passes every event through in order and ends once as completed', async () => {
    const o = observer();
    const seen: number[] = [];
    for await (const v of observeStream(numbers(5), o)) seen.push(v);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(o.events).toEqual([0, 1, 2, 3, 4]);
    expect(o.ends).toEqual([['completed', undefined]]);
  });

  it('ends once as failed with the error, and rethrows it to the caller', async () => {
    const o = observer();
    await expect(async () => {
      for await (const _ of observeStream(numbers(5, 2), o)) {
        /* read */
      }
    }).rejects.toThrow('broken');
    expect(o.ends).toHaveLength(1);
    expect(o.ends[0]![0]).toBe('failed');
    expect((o.ends[0]![1] as Error).message).toBe('broken');
  });

  it('ends once as abandoned on break, and closes the source', async () => {
    const o = observer();
    let closed = false;
    async function* source() {
      try {
        yield* numbers(10);
      } finally {
        closed = true;
      }
    }
    for await (const v of observeStream(source(), o)) if (v === 1) break;
    expect(o.ends).toEqual([['abandoned', undefined]]);
    expect(closed).toBe(true);
  });

  it('ignores reads after the end', async () => {
    const o = observer();
    const it = observeStream(numbers(1), o)[Symbol.asyncIterator]();
    await it.next();
    await it.next();
    await it.next();
    await it.return?.();
    expect(o.ends).toEqual([['completed', undefined]]);
  });

  it('settles a stream that is dropped unread as abandoned when it is garbage-collected', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const o = observer();
    (() => {
      observeStream(numbers(3), o);
    })();
    for (let i = 0; i < 20 && o.ends.length === 0; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(o.ends).toEqual([['abandoned', undefined]]);
  });
});
