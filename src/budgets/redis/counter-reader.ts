import { BudgetStoreUnavailableError } from '../../errors/budget-store-unavailable-error.js';
import { UNIT_FIELDS, type Units } from '../amounts.js';
import type { CounterRef, CounterState } from '../store.js';
import { redisDeadline } from './deadline.js';
import type { StoreHealth } from './health.js';
import type { KeySpace } from './keys.js';
import type { CounterReply, Lease } from './lease.js';
import type { RedisStoreSettings } from './options.js';
import type { ScriptRunner } from './redis-client.js';
import { READ } from './scripts.js';
import { parseReadReply } from './wire.js';

type Mutable = { -readonly [K in keyof Units]: number };

/**
 * A counter's fleet-wide state: the usage admission counts (Redis's plus the lost usage nobody
 * reports again, or the most this process has seen if more: after Redis lost the counter its own
 * `u` starts again from what holders report anew) with this process's unreported usage, and its
 * calls in flight in place of its slice.
 */
function merge(reply: CounterReply, gone: Units, lease: Lease | undefined): CounterState {
  const used: Mutable = { ...reply.u };
  const reserved: Mutable = { ...reply.l };
  for (const f of UNIT_FIELDS) {
    reserved[f] = Math.max(0, reply.l[f] - reply.g[f]) + (lease?.inflight[f] ?? 0);
    used[f] = reply.u[f] + gone[f];
    if (lease === undefined) continue;
    // What Redis acknowledged of this holder is in what it has seen, also when Redis lost its record (r = 0).
    const reported = Math.max(reply.r[f], lease.acked.r[f]);
    used[f] = Math.max(used[f], lease.seen[f]) + Math.max(0, lease.used[f] - reported);
  }
  return { used, reserved };
}

/**
 * `read()`: one script per budget (its counters share a slot), expired slices swept first.
 * `reserved` is what other processes' slices hold plus this process's calls in flight. Bounded
 * by `storeTimeoutMs` of Redis time, so `status()` falls back to what it knows when Redis is away.
 */
export class CounterReader {
  constructor(
    private readonly run: ScriptRunner,
    private readonly keys: KeySpace,
    private readonly settings: RedisStoreSettings,
    private readonly health: StoreHealth,
    private readonly leaseOf: (key: string) => Lease | undefined,
  ) {}

  private async readBudget(budget: string, refs: readonly CounterRef[]): Promise<CounterState[]> {
    const keys: string[] = [];
    const args = [String(this.settings.idempotencyMs)];
    for (const ref of refs) {
      const k = this.keys.of(budget, ref.key);
      keys.push(k.counter, k.holders);
      args.push(this.leaseOf(ref.key)?.holder ?? '');
    }
    const t0 = performance.now();
    let reply: unknown;
    try {
      reply = await this.run(READ, keys, args);
    } catch (error) {
      this.health.failed('read', (performance.now() - t0) / 1000, error, keys[0] ?? '');
      throw error;
    }
    this.health.answered('read', (performance.now() - t0) / 1000, keys[0] ?? '');
    return parseReadReply(reply, refs.length).map((r, i) => merge(r.counter, r.gone, this.leaseOf((refs[i] as CounterRef).key)));
  }

  async read(counters: readonly CounterRef[]): Promise<CounterState[]> {
    const groups = new Map<string, number[]>();
    counters.forEach((c, i) => {
      const group = groups.get(c.budget);
      if (group === undefined) groups.set(c.budget, [i]);
      else group.push(i);
    });
    const states = new Array<CounterState>(counters.length);
    const all = Promise.all(
      [...groups].map(async ([budget, indices]) => {
        const read = await this.readBudget(budget, indices.map((i) => counters[i] as CounterRef));
        indices.forEach((i, k) => (states[i] = read[k] as CounterState));
      }),
    );
    let stop: () => void = () => undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      stop = redisDeadline(this.settings.storeTimeoutMs, () => { resolve('timeout'); });
    });
    try {
      if ((await Promise.race([all, timedOut])) === 'timeout') {
        all.catch(() => undefined);
        throw new BudgetStoreUnavailableError(`Redis did not answer a budget read within ${this.settings.storeTimeoutMs} ms`);
      }
    } finally {
      stop();
    }
    return states;
  }
}
