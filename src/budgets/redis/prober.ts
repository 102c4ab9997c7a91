import type { Reachability } from './reachability.js';
import type { ScriptRunner } from './redis-client.js';
import { PROBE } from './scripts.js';

/**
 * Asks each part of Redis a store saw go silent or fail whether it answers again: one tiny script
 * per part at a time, at most one per `gapMs` (a server answering BUSY, LOADING or CLUSTERDOWN at
 * once got a probe per refused call). Without it, a process with no work left for Redis (a failed
 * read, a refused call, an idle quota) reported an outage that had ended for as long as it stayed
 * idle, and on a Cluster each budget on a paused node sent a script of its own to find out. Used
 * by the budget and the quota store alike.
 */
export class Prober {
  /** Parts of Redis a probe is on its way to. */
  private readonly probing = new Set<string>();
  /** When (`performance.now()`) each unreachable part was last probed. */
  private readonly probedAt = new Map<string, number>();

  constructor(
    private readonly reach: Reachability,
    private readonly run: ScriptRunner,
    private readonly gapMs: number,
    /** Told of each probe when it ends (seconds from sending, whether it was answered without an error): a round trip like any other. */
    private readonly onRoundTrip?: (seconds: number, ok: boolean) => void,
  ) {}

  private ended(t0: number, ok: boolean): void {
    try {
      this.onRoundTrip?.((performance.now() - t0) / 1000, ok);
    } catch {
      // Counting must not break probing.
    }
  }

  probe(): void {
    const now = performance.now();
    const silent = this.reach.silentParts();
    for (const part of this.probedAt.keys()) if (!silent.some(([p]) => p === part)) this.probedAt.delete(part);
    for (const [part, key] of silent) {
      if (this.probing.has(part) || now - (this.probedAt.get(part) ?? Number.NEGATIVE_INFINITY) < this.gapMs) continue;
      this.probing.add(part);
      this.probedAt.set(part, now);
      this.run(PROBE, [key], [])
        .then(
          () => {
            this.ended(now, true);
            this.reach.probed(part, key);
          },
          (error: unknown) => {
            this.ended(now, false);
            this.reach.probed(part, key, error);
          },
        )
        .finally(() => this.probing.delete(part))
        .catch(() => undefined);
    }
  }
}
