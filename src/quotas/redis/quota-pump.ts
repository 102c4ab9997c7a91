import { redisDeadline } from '../../budgets/redis/deadline.js';
import { Prober } from '../../budgets/redis/prober.js';
import { Reachability } from '../../budgets/redis/reachability.js';
import type { ScriptRunner } from '../../budgets/redis/redis-client.js';
import type { QuotaAmount } from '../amount.js';
import type { RedisQuotaSettings } from './options.js';
import { QUOTA_LEASE } from './scripts.js';
import { parseSliceReply, type QuotaSlice, type SliceOpKind } from './slice.js';

/**
 * Sends the quota scripts, at most one per slice at a time: calls that lack room in the same
 * turn of the event loop share one script. Keeps the store's event counts and whether Redis
 * answers (per part of Redis: a Cluster node's quotas apart from the others'), and gives a call waiting on a script past `storeTimeoutMs` its answer at once.
 */
export class QuotaPump {
  readonly events: Record<string, number> = { round_trips: 0, slices_leased: 0, refused: 0, errors: 0, timeouts: 0 };
  private readonly reach: Reachability;
  private readonly prober: Prober;

  constructor(
    client: unknown,
    private readonly run: ScriptRunner,
    private readonly settings: RedisQuotaSettings,
    /** What this process has in use on the slice's team now (held plus charged in its window). */
    private readonly useOf: (slice: QuotaSlice) => QuotaAmount,
    /** A slice's room grew (calls waiting for room look again). */
    private readonly grew: (quota: string) => void,
  ) {
    this.reach = new Reachability(client, 'quota', 'calls go on within the slices held, then without a quota check');
    // A probe is a script like any other: answered, a round trip; refused, an error.
    this.prober = new Prober(this.reach, run, settings.renewIntervalMs / 2, (_seconds, ok) => {
      this.count(ok ? 'round_trips' : 'errors');
    });
  }

  /**
   * Asks each part of Redis that went silent whether it answers again (see `Prober`): an idle
   * process, whose slices were dropped with nothing to renew, otherwise kept reporting an outage
   * that had ended.
   */
  probe(): void {
    if (this.reach.anyDown) this.prober.probe();
  }

  /** Whether some part of Redis is unreachable now. */
  get unavailable(): boolean {
    return this.reach.anyDown;
  }

  /** Scripts on their way per part of Redis. */
  private readonly inflight = new Map<string, number>();

  /**
   * Whether a call lacking room on `slice` should not wait: the part of Redis holding its keys is
   * known unreachable (one server: every slice of every quota). One script per part stays on its
   * way as a probe (the one already pending, else a renewal of `slice`), so its answer brings the
   * part back; else every new team's first call waited `storeTimeoutMs` through an outage.
   */
  failFast(slice: QuotaSlice): boolean {
    const key = slice.keys[0] ?? '';
    if (!this.reach.isDown(key)) return false;
    if ((this.inflight.get(this.reach.part(key)) ?? 0) === 0 && !slice.busy) void this.send(slice, 'renew');
    return true;
  }

  /** Calls that lack room in the same turn of the event loop share one script. */
  schedule(slice: QuotaSlice): void {
    if (slice.busy || slice.scheduled) return;
    slice.scheduled = true;
    setImmediate(() => {
      slice.scheduled = false;
      if (!slice.busy && slice.waiters.length > 0) void this.send(slice, 'lease');
    });
  }

  /** Sends one script for `slice`; resolves `true` when Redis answered it. */
  async send(slice: QuotaSlice, kind: SliceOpKind): Promise<boolean> {
    const waiters = kind === 'lease' ? slice.waiters.splice(0) : [];
    slice.busy = true;
    const spec = slice.spec;
    const args = slice.scriptArgs(kind, this.useOf(slice), waiters.map((w) => w.lacking), this.settings);
    const sentAt = performance.now();
    const had = slice.grant;
    const key = slice.keys[0] ?? '';
    const part = this.reach.part(key);
    this.inflight.set(part, (this.inflight.get(part) ?? 0) + 1);
    let answered = false;
    const cancel = redisDeadline(this.settings.storeTimeoutMs, () => {
      if (answered) return;
      this.count('timeouts');
      this.reach.goDown(key, 'no answer within storeTimeoutMs');
      slice.overdue = true;
      for (const w of [...waiters, ...slice.waiters.splice(0)]) w.reject(this.noAnswer());
    });
    try {
      const reply = parseSliceReply(await this.run(QUOTA_LEASE, [...slice.keys], args));
      answered = true;
      this.count('round_trips');
      this.reach.up(key);
      slice.settle(reply, sentAt, this.settings.sliceTtlMs);
      if (reply.refused) this.count('refused');
      if (had.tokens === 0 && reply.grant.tokens > 0) this.count('slices_leased');
      for (const w of waiters) w.resolve(reply.refused);
      if (reply.grant.tokens > had.tokens || reply.grant.requests > had.requests) this.grew(spec.name);
      return true;
    } catch (error) {
      answered = true;
      this.count('errors');
      this.reach.goDown(key, error instanceof Error ? `${error.name}: ${error.message}` : 'a script failed', error);
      for (const w of waiters) w.reject(error);
      return false;
    } finally {
      const left = (this.inflight.get(part) ?? 1) - 1;
      if (left > 0) this.inflight.set(part, left);
      else this.inflight.delete(part);
      cancel();
      slice.busy = false;
      slice.overdue = false;
      if (slice.waiters.length > 0) this.schedule(slice);
    }
  }

  /** What a call waiting on a script past `storeTimeoutMs` gets (it goes on without a quota check). */
  noAnswer(): Error {
    return new Error(`Redis did not answer within ${this.settings.storeTimeoutMs} ms (storeTimeoutMs)`);
  }

  private count(event: string): void {
    this.events[event] = (this.events[event] ?? 0) + 1;
  }
}
