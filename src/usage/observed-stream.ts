import type { Drains } from './drains.js';

/** How a wrapped stream ended. `abandoned`: the caller stopped reading (or dropped it unread). */
export type StreamEnd = 'completed' | 'failed' | 'abandoned';

/** What a wrapped stream reports to; implementations must not throw. */
export interface StreamObserver<T> {
  /** Every event, before the caller sees it — and, after the caller stopped, every event drained. */
  event(value: T): void;
  /** What an event weighs against the drain's byte bound. */
  size(value: T): number;
  /** Exactly once: the stream ended, failed (with the error) or was abandoned by the caller. */
  end(how: StreamEnd, error: unknown): void;
}

interface Held {
  readonly observer: StreamObserver<unknown>;
  readonly source: AsyncIterable<unknown>;
  readonly drains: Drains | undefined;
  /** The caller's reader, once one was opened: what is left of it is what a collected stream drains. */
  inner: AsyncIterator<unknown> | undefined;
}

/**
 * Reads what is left of `inner` in the background (events go to the observer only, never to the
 * caller), bounded by the drain limits, then ends the observer once as abandoned: Bedrock bills
 * the whole generation and sends its usage last.
 */
function drain(inner: AsyncIterator<unknown>, observer: StreamObserver<unknown>, drains: Drains | undefined, onDone: () => void): void {
  const limits = drains?.limits;
  let finished = false;
  // Declared before `stop` refers to it, set once the drain starts.
  const clock: { timer?: NodeJS.Timeout } = {};
  const finish = (): void => {
    if (finished) return;
    finished = true;
    clearTimeout(clock.timer);
    drains?.delete(stop);
    onDone();
    observer.end('abandoned', undefined);
  };
  const stop = (): void => {
    if (finished) return;
    finish();
    // Closes the connection; a read still pending completes first.
    void inner.return?.().catch(() => undefined);
  };
  if (limits === undefined) {
    stop();
    return;
  }
  clock.timer = setTimeout(stop, limits.timeoutMs);
  clock.timer.unref();
  drains?.add(stop);
  let bytes = 0;
  const pump = (): void => {
    inner.next().then(
      (r) => {
        if (finished) return;
        if (r.done === true) {
          finish();
          return;
        }
        observer.event(r.value);
        bytes += observer.size(r.value);
        if (bytes > limits.maxBytes) stop();
        else pump();
      },
      () => {
        finish();
      },
    );
  };
  pump();
}

// A stream the caller drops without reading to the end or calling `return()` (no `for await`
// ever started, or an iterator read by hand and let go) is drained and settled as abandoned once
// it is garbage-collected. The held value keeps the source and the caller's reader (neither
// references the wrapper) so they can still be read; a read in progress holds the wrapper alive.
const dropped = new FinalizationRegistry<Held>((held) => {
  drain(held.inner ?? held.source[Symbol.asyncIterator](), held.observer, held.drains, () => undefined);
});

/**
 * A pass-through async iterable: every event reaches the caller unchanged and in order, and the
 * observer hears how the stream ended, exactly once. When the caller stops early, the rest is
 * drained in the background (see `drainAbandonedStreams`). A hand-written iterator rather than an
 * `async *` generator: one promise per event instead of several.
 */
class ObservedStream<T> implements AsyncIterable<T> {
  private done = false;
  /** Set once the caller stopped reading: the rest belongs to the drain. */
  private abandoned = false;
  /** What the registry drains if this stream is collected before it ended (registered until it ends). */
  private readonly held: Held;

  constructor(
    private readonly source: AsyncIterable<T>,
    private readonly observer: StreamObserver<T>,
    private readonly drains: Drains | undefined,
  ) {
    this.held = { observer, source, drains, inner: undefined };
    dropped.register(this, this.held, this);
  }

  private finish(how: StreamEnd, error: unknown): void {
    if (this.done) return;
    this.done = true;
    dropped.unregister(this);
    this.observer.end(how, error);
  }

  /** The caller stopped reading: the rest is drained in the background, then the observer ends as abandoned. */
  private abandon(inner: AsyncIterator<T>): void {
    if (this.done) return;
    this.done = true;
    this.abandoned = true;
    dropped.unregister(this);
    drain(inner as AsyncIterator<unknown>, this.observer, this.drains, () => undefined);
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    // Read once: after the caller stopped, what is left is the drain's (a second reader would take
    // events from it, and the caller would get some of them, not a whole stream).
    if (this.abandoned) return { next: () => Promise.resolve({ done: true as const, value: undefined }) };
    const inner = this.source[Symbol.asyncIterator]();
    // An iterator the caller opens and then lets go of, unfinished, is drained when collected.
    this.held.inner ??= inner;
    const observer = this.observer;
    // The arrows below hold `this`, so the stream cannot be collected while it is being read.
    const onResult = (r: IteratorResult<T>): IteratorResult<T> => {
      if (this.done) {
        // A read still pending when the caller stopped (`return()` during a `next()`): its event was
        // taken from the stream before the drain's reads, and may be the one carrying the usage.
        if (this.abandoned && r.done !== true) observer.event(r.value);
        return r;
      }
      if (r.done === true) this.finish('completed', undefined);
      else observer.event(r.value);
      return r;
    };
    const onError = (error: unknown): never => {
      this.finish('failed', error);
      throw error;
    };
    return {
      next: () => inner.next().then(onResult, onError),
      return: (value?: T) => {
        this.abandon(inner);
        return Promise.resolve({ done: true as const, value });
      },
      // The caller's own error: it stops reading, like `break` (the rest is still billed, and drained).
      throw: (error?: unknown) => {
        this.abandon(inner);
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      },
    };
  }
}

/** Wraps `source` so that `observer` sees every event and exactly one end; `drains` bounds the reading of abandoned streams (none: they are closed at once). */
export function observeStream<T>(source: AsyncIterable<T>, observer: StreamObserver<T>, drains?: Drains): AsyncIterable<T> {
  return new ObservedStream(source, observer, drains);
}
