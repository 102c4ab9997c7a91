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

  constructor(readonly limits: DrainLimits | undefined) {}

  add(stop: () => void): void {
    this.active.add(stop);
  }

  delete(stop: () => void): void {
    this.active.delete(stop);
  }

  get size(): number {
    return this.active.size;
  }

  /** Ends every drain now. */
  stopAll(): void {
    for (const stop of [...this.active]) stop();
    this.active.clear();
  }
}
