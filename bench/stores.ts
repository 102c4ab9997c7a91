/** Both budget stores: in-memory reserve+commit throughput; Redis latency alone and under concurrency. */
import { Redis } from 'ioredis';
import { MemoryBudgetStore, type ReservationEntry } from '../src/budgets/index.js';
import { RedisBudgetStore } from '../src/budgets/redis/index.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { fmt, percentile } from './stats.js';

const entry: ReservationEntry = { key: 'bench', budget: 'bench', limits: { tokens: 1e15 }, amounts: { tokens: 300, inputTokens: 200, outputTokens: 100, nanoUsd: 1_000_000 }, enforce: true, windowEnd: Date.now() + 86_400_000 };
const actual = [{ key: 'bench', budget: 'bench', actual: entry.amounts, windowEnd: entry.windowEnd }];

export async function stores(smoke: boolean): Promise<string[]> {
  const lines: string[] = [];
  const memory = new MemoryBudgetStore();
  const pairs = smoke ? 20_000 : 1_000_000;
  const t0 = performance.now();
  for (let i = 0; i < pairs; i++) {
    const id = `m${i}`;
    const now = Date.now();
    memory.reserve({ id, entries: [entry], now, leaseMs: 60_000 });
    memory.commit({ id, entries: actual, now });
  }
  const perSec = pairs / ((performance.now() - t0) / 1000);
  lines.push(`- In-memory: **${Math.round(perSec).toLocaleString('en-US')} reserve+commit pairs per second** (${pairs.toLocaleString('en-US')} pairs; target ≥ 1,000,000).`);

  const redisServer = await startRedis();
  try {
    // The leasing store: admission is answered from this process's slice (no round trip far from
    // the limit), commits are applied locally and flushed in batches. Fleet numbers: bench/fleet.ts.
    const redis = new Redis(redisServer.url);
    const store = new RedisBudgetStore({ client: redis, keyPrefix: 'bench:' });
    const total = smoke ? 2_000 : 200_000;
    const concurrency = 32;
    const reserveLat: number[] = [];
    const commitLat: number[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < total) {
        const id = `r${next++}`;
        const now = Date.now();
        let t = performance.now();
        const reserved = store.reserve({ id, entries: [entry], now, leaseMs: 60_000 });
        if (reserved instanceof Promise) await reserved;
        reserveLat.push(performance.now() - t);
        t = performance.now();
        void store.commit({ id, entries: actual, now });
        commitLat.push(performance.now() - t);
        // Yield as a real call would (its request goes out between admission and commit).
        if (next % 8 === 0) await new Promise((r) => setImmediate(r));
      }
    };
    // Round-trip latency of one script (a budget read), one at a time.
    const serial: number[] = [];
    for (let i = 0; i < (smoke ? 200 : 5_000); i++) {
      const t = performance.now();
      await store.read([{ key: 'bench', budget: 'bench' }], Date.now());
      serial.push(performance.now() - t);
    }
    lines.push(`- Redis, one script round trip at a time (a budget read): p50 ${fmt(percentile(serial, 50), 3)} ms / p99 ${fmt(percentile(serial, 99), 3)} ms.`);
    const scripts = async (): Promise<number> => Number((await redis.info('commandstats')).match(/^cmdstat_evalsha:calls=(\d+)/m)?.[1] ?? 0);
    const before = await scripts();
    const t1 = performance.now();
    await Promise.all(Array.from({ length: concurrency }, worker));
    const seconds = (performance.now() - t1) / 1000;
    const after = await scripts();
    lines.push(
      `- Redis (leased slices; redis-server on loopback, ioredis, concurrency ${concurrency}, ${total.toLocaleString('en-US')} pairs, far from the limit): reserve p50 ${fmt(percentile(reserveLat, 50) * 1000, 1)} µs / p99 ${fmt(percentile(reserveLat, 99) * 1000, 1)} µs, commit p50 ${fmt(percentile(commitLat, 50) * 1000, 1)} µs / p99 ${fmt(percentile(commitLat, 99) * 1000, 1)} µs, **${Math.round(total / seconds).toLocaleString('en-US')} pairs per second**, ${after - before} scripts in all (target p99 < 1 ms). Fleet numbers (4 processes, faults, the old per-call design beside): \`bench/fleet.ts\`, below.`,
    );
    await store.close();
    await redis.quit();
  } finally {
    await redisServer.stop();
  }
  return lines;
}
