import type { DrainLimits, Drains } from '../usage/drains.js';
import type { StreamEnd } from '../usage/observed-stream.js';

/** What an observed body reports to; implementations must not throw. */
export interface BodyObserver {
  /** Every chunk read from the network, the caller's and the drained ones, in order. */
  chunk(bytes: Uint8Array): void;
  /** Exactly once: the body ended, failed, or was abandoned by the caller (after any drain). */
  end(how: StreamEnd, error: unknown): void;
}

// A body the caller drops without reading to the end or cancelling it is handled as cancelled
// when its stream is garbage-collected. The held value must not reference the stream.
const dropped = new FinalizationRegistry<() => void>((abandon) => {
  abandon();
});

/** Reads what is left of `reader` for the observer only, within `limits` (and until `shutdown()` stops it); then lets go of it. */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, observer: BodyObserver, limits: DrainLimits, drains: Drains): Promise<void> {
  let bytes = 0;
  const stop = (): void => void reader.cancel().catch(() => undefined);
  const timer = setTimeout(stop, limits.timeoutMs);
  timer.unref();
  drains.add(stop);
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) return;
      observer.chunk(r.value);
      bytes += r.value.byteLength;
      if (bytes >= limits.maxBytes) {
        await reader.cancel();
        return;
      }
    }
  } catch {
    // The connection broke or the timeout cancelled it: what was read is all there is.
  } finally {
    clearTimeout(timer);
    drains.delete(stop);
  }
}

/**
 * A pass-through body: the caller reads exactly the bytes and chunks of `source`, pulled only as
 * it reads (nothing is buffered ahead, so backpressure reaches the network as before), while
 * `observer` sees every chunk and one end. When the caller cancels the body (or drops it), the
 * rest is read in the background within `drain` — its bytes go to the observer only, to learn
 * the usage Bedrock sends last — and the connection is then released; without `drain`, it is
 * cancelled at once.
 */
export function observeBody(source: ReadableStream<Uint8Array>, observer: BodyObserver, drains: Drains): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  const token = {};
  let ended = false;
  let abandoned = false;
  const finish = (how: StreamEnd, error: unknown): void => {
    if (ended) return;
    ended = true;
    dropped.unregister(token);
    observer.end(how, error);
  };
  const abandon = (): void => {
    if (ended || abandoned) return;
    abandoned = true;
    dropped.unregister(token);
    // Read now: a body cancelled after shutdown() is not drained (it would keep its connection, and the process, open).
    const limits = drains.limits;
    if (limits === undefined) {
      void reader.cancel().catch(() => undefined);
      finish('abandoned', undefined);
      return;
    }
    void drain(reader, observer, limits, drains).then(() => {
      finish('abandoned', undefined);
    });
  };
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let r: Awaited<ReturnType<typeof reader.read>>;
        try {
          r = await reader.read();
        } catch (error) {
          finish('failed', error);
          controller.error(error);
          return;
        }
        if (r.done) {
          finish('completed', undefined);
          controller.close();
          return;
        }
        observer.chunk(r.value);
        controller.enqueue(r.value);
      },
      cancel() {
        abandon();
      },
    },
    { highWaterMark: 0 },
  );
  dropped.register(stream, abandon, token);
  return stream;
}
