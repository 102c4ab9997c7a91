import { execFile, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type { RedisBudgetStoreOptions } from '../../src/budgets/redis/index.js';
import { tokensOfText } from '../../src/testing/index.js';

const exec = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
// Node with the tsx loader in-process (the tsx CLI would run the worker in a child a SIGKILL misses).
const node = (script: string, arg: string): [string, string[]] => [process.execPath, ['--import', 'tsx', join(root, script), arg]];
const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

/** What one fleet worker process does (`test/redis/worker.ts`). */
export interface WorkerSpec {
  readonly url: string;
  readonly prefix: string;
  readonly limit: number;
  readonly calls: number;
  readonly concurrency: number;
  readonly onStoreError: 'allow' | 'deny';
  /** Tokens reserved on top of the exact estimate (estimates ≥ actual). */
  readonly overEstimate?: number;
  readonly latencyMs?: number;
  /** Wait until this epoch ms before the first call (processes start together). */
  readonly startAt?: number;
  readonly store?: Omit<RedisBudgetStoreOptions, 'client'>;
  readonly mode?: 'run' | 'hold';
}

/** What a worker prints. */
export interface WorkerResult {
  readonly admitted: number;
  /** Refused because the budget was full. */
  readonly refused: number;
  /** Refused because Redis could not be asked (`onStoreError: 'deny'` or the insurance ran out). */
  readonly unavailable: number;
  readonly errors: number;
  /** Tokens of the admitted calls: what they committed. */
  readonly tokens: number;
  readonly stats: { readonly events: Record<string, number>; readonly pendingCommits: number; readonly slices: number; readonly unavailable: boolean };
  /** Whether shutdown delivered everything. */
  readonly complete: boolean;
}

export const WORKER_TEXT = 'hello world';
export const WORKER_MAX_TOKENS = 10;
/** What one call uses: the simulator bills ceil(chars / 4) + 3 input tokens and min(maxTokens, 64) output. */
export const PER_CALL = tokensOfText(WORKER_TEXT) + 3 + WORKER_MAX_TOKENS;

/** Runs one worker to completion and parses its result. */
export async function runWorker(spec: WorkerSpec, timeoutMs = 120_000): Promise<WorkerResult> {
  const [cmd, args] = node('test/redis/worker.ts', JSON.stringify(spec));
  const { stdout, stderr } = await exec(cmd, args, { cwd: root, env, timeout: timeoutMs, maxBuffer: 16 * 2 ** 20 });
  if (stderr.trim() !== '') throw new Error(`worker wrote to stderr: ${stderr.slice(0, 2000)}`);
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as WorkerResult;
}

/** Starts a worker in `hold` mode: resolves once it holds a slice, with a way to kill it (-9). */
export async function holdingWorker(spec: WorkerSpec): Promise<{ kill: () => Promise<void> }> {
  const [cmd, args] = node('test/redis/worker.ts', JSON.stringify({ ...spec, mode: 'hold' }));
  const child = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((ok, fail) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"ready":true')) ok();
    });
    child.once('exit', (code) => fail(new Error(`holding worker exited with ${code}`)));
  });
  return {
    kill: () =>
      new Promise<void>((ok) => {
        child.once('exit', () => ok());
        child.kill('SIGKILL');
      }),
  };
}

/** A process that keeps one core busy (the "CPU hog" beside the fleet). */
export function cpuHog(): { stop: () => void } {
  const child = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  return { stop: () => child.kill('SIGKILL') };
}

/** Redis's own view of a budget: committed usage and leased room (tokens), summed over its counters. */
export async function budgetInRedis(url: string, prefix: string, budget = 'shared'): Promise<{ used: number; leased: number; counters: number }> {
  const redis = new Redis(url);
  try {
    const keys = await redis.keys(`${prefix}{${budget}}:c:*`);
    let used = 0;
    let leased = 0;
    for (const key of keys) {
      const [u, l] = await redis.hmget(key, 'u_t', 'l_t');
      used += Number(u ?? 0);
      leased += Number(l ?? 0);
    }
    return { used, leased, counters: keys.length };
  } finally {
    await redis.quit();
  }
}

/** Script calls the server has run so far (EVALSHA + EVAL), from `INFO commandstats`. */
export async function scriptCalls(url: string): Promise<number> {
  const redis = new Redis(url);
  try {
    const info = await redis.info('commandstats');
    let calls = 0;
    for (const m of info.matchAll(/^cmdstat_(evalsha|eval):calls=(\d+)/gm)) calls += Number(m[2]);
    return calls;
  } finally {
    await redis.quit();
  }
}

export const sum = (results: readonly WorkerResult[], f: (r: WorkerResult) => number): number => results.reduce((s, r) => s + f(r), 0);
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
