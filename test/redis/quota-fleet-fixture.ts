import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

/** What one quota fleet worker does (`test/redis/quota-worker.ts`). */
export interface QuotaWorkerSpec {
  readonly redisUrl: string;
  readonly simUrl: string;
  readonly prefix: string;
  readonly quota: number;
  readonly windowMs: number;
  readonly calls: number;
  readonly concurrency: number;
  readonly team: string;
  readonly shares?: boolean;
  /** Wait until this epoch ms before the first call (processes start together). */
  readonly startAt?: number;
}

/** What a quota worker prints. */
export interface QuotaWorkerResult {
  served: number;
  refused: number;
  throttled: number;
  failed: number;
  events: Record<string, number>;
}

/** Runs one quota worker to completion and parses its result. */
export async function runQuotaWorker(spec: QuotaWorkerSpec, timeoutMs = 120_000): Promise<QuotaWorkerResult> {
  const { stdout, stderr } = await exec(process.execPath, ['--import', 'tsx', join(root, 'test/redis/quota-worker.ts'), JSON.stringify(spec)], { cwd: root, env, timeout: timeoutMs, maxBuffer: 16 * 2 ** 20 });
  if (stderr.trim() !== '') throw new Error(`quota worker wrote to stderr: ${stderr.slice(0, 2000)}`);
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as QuotaWorkerResult;
}
