/** How a wrapped stream ended. */
export type StreamEnd = 'completed' | 'failed' | 'abandoned';

/** What a wrapped stream reports to; implementations must not throw. */
export interface StreamObserver<T> {
  /** Every event, before the caller sees it. */
  event(value: T): void;
  /** Exactly once: the stream ended, failed (with the error) or was abandoned by the caller. */
  end(how: StreamEnd, error: unknown): void;
}

// A stream the caller drops without reading to the end or calling `return()` (no `for await`
// ever started, say) is settled as abandoned when it is garbage-collected.
const abandoned = new FinalizationRegistry<StreamObserver<unknown>>((observer) => {
  observer.end('abandoned', undefined);
});

/**
 * A pass-through async iterable: every event reaches the caller unchanged and in order, and the
 * observer hears how the stream ended, exactly once. A hand-written iterator rather than an
 * `async *` generator: one promise per event instead of several.
 */
class ObservedStream<T> implements AsyncIterable<T> {
  private done = false;

  constructor(
    private readonly source: AsyncIterable<T>,
    private readonly observer: StreamObserver<T>,
  ) {
    abandoned.register(this, observer, this);
  }

  private finish(how: StreamEnd, error: unknown): void {
    if (this.done) return;
    this.done = true;
    abandoned.unregister(this);
    this.observer.end(how, error);
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    const inner = this.source[Symbol.asyncIterator]();
    const observer = this.observer;
    // The arrows below hold `this`, so the stream cannot be collected while it is being read.
    const onResult = (r: IteratorResult<T>): IteratorResult<T> => {
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
        this.finish('abandoned', undefined);
        return inner.return === undefined ? Promise.resolve({ done: true as const, value }) : inner.return(value);
      },
      throw: (error?: unknown) => {
        this.finish('failed', error);
        return inner.throw === undefined ? Promise.reject(error instanceof Error ? error : new Error(String(error))) : inner.throw(error);
      },
    };
  }
}

/** Wraps `source` so that `observer` sees every event and exactly one end. */
export function observeStream<T>(source: AsyncIterable<T>, observer: StreamObserver<T>): AsyncIterable<T> {
  return new ObservedStream(source, observer);
}
