/** How long and how far a stream the caller stopped early is read in the background. */
export interface DrainLimits {
  readonly timeoutMs: number;
  readonly maxBytes: number;
}

/**
 * The streams being drained in the background right now, so `shutdown()` can end them (each
 * settles at once with what it has) instead of waiting for them.
 */
export class Drains {
  private readonly active = new Set<() => void>();
  private stopped = false;

  constructor(private readonly drainLimits: DrainLimits | undefined) {}

  /** How far to drain a stream stopped now: none once `shutdown()` ended the drains (it is closed at once, charged what it has). */
  get limits(): DrainLimits | undefined {
    return this.stopped ? undefined : this.drainLimits;
  }

  add(stop: () => void): void {
    this.active.add(stop);
  }

  delete(stop: () => void): void {
    this.active.delete(stop);
  }

  get size(): number {
    return this.active.size;
  }

  /** Ends every drain now, and every later one as it starts (a stream stopped after shutdown would keep its socket, and the process, open). */
  stopAll(): void {
    this.stopped = true;
    for (const stop of [...this.active]) stop();
    this.active.clear();
  }
}
