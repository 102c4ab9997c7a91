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
    const redis = new Redis(redisServer.url);
    const store = new RedisBudgetStore({ client: redis, keyPrefix: 'bench:{b}:', timeoutMs: 5_000 });
    // Warm the scripts and the connection first.
    await store.read([{ key: 'bench', budget: 'bench' }], Date.now());
    // Round-trip latency, one operation at a time.
    const serial: number[] = [];
    for (let i = 0; i < (smoke ? 200 : 5_000); i++) {
      const id = `s${i}`;
      const now = Date.now();
      const t = performance.now();
      await store.reserve({ id, entries: [entry], now, leaseMs: 60_000 });
      serial.push(performance.now() - t);
      await store.commit({ id, entries: actual, now });
    }
    lines.push(`- Redis, one operation at a time (round-trip latency): reserve p50 ${fmt(percentile(serial, 50), 3)} ms / p99 ${fmt(percentile(serial, 99), 3)} ms.`);
    const total = smoke ? 2_000 : 50_000;
    const concurrency = 32;
    const reserveLat: number[] = [];
    const commitLat: number[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < total) {
        const id = `r${next++}`;
        const now = Date.now();
        let t = performance.now();
        await store.reserve({ id, entries: [entry], now, leaseMs: 60_000 });
        reserveLat.push(performance.now() - t);
        t = performance.now();
        await store.commit({ id, entries: actual, now });
        commitLat.push(performance.now() - t);
      }
    };
    const t1 = performance.now();
    await Promise.all(Array.from({ length: concurrency }, worker));
    const seconds = (performance.now() - t1) / 1000;
    lines.push(
      `- Redis (redis-server on loopback, ioredis, concurrency ${concurrency}, ${total.toLocaleString('en-US')} pairs, one round trip each): reserve p50 ${fmt(percentile(reserveLat, 50), 3)} ms / p99 ${fmt(percentile(reserveLat, 99), 3)} ms, commit p50 ${fmt(percentile(commitLat, 50), 3)} ms / p99 ${fmt(percentile(commitLat, 99), 3)} ms, **${Math.round(total / seconds).toLocaleString('en-US')} pairs per second** (target p99 < 1 ms).`,
    );
    await redis.quit();
  } finally {
    await redisServer.stop();
  }
  return lines;
}
