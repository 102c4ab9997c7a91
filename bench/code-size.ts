/**
 * The plugin's optimized code, by part: what a call re-fetches into the CPU's caches when the
 * SDK's own work has evicted it (see the cachegrind section). One process runs Converse calls
 * with the full configuration under `node --log-code`; V8 logs every code object it makes. Counted:
 * the latest optimized (TurboFan) code of each function in `src/`, in bytes, by the directory its
 * source lives in. A function V8 never optimized (run too rarely) is not counted.
 */
import { execFile } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { scriptOf } from './ic-misses.js';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./instructions-child.ts', import.meta.url));
const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/** Parts of a call, by the source directory of the code (the first match wins). */
const PARTS = [
  { label: 'budgets (admission, reservation, commit on the in-memory store)', test: (f: string) => f.startsWith('budgets/') },
  { label: "the call's path (middleware, begin, settle, record)", test: (f: string) => f.startsWith('pipeline/') || !f.includes('/') },
  { label: 'usage read from responses', test: (f: string) => f.startsWith('usage/') },
  { label: 'metrics (GenAI histograms, counters)', test: (f: string) => f.startsWith('metrics/') },
  { label: 'pricing', test: (f: string) => f.startsWith('pricing/') },
  { label: 'attribution (each call scope, on every side)', test: (f: string) => f.startsWith('attribution/') },
  { label: 'the rest (model, fallback, quotas)', test: () => true },
] as const;

/** Latest optimized code size of each `src/` function (by its name and position), from one `--log-code` log. */
async function optimized(file: string): Promise<Map<string, { file: string; bytes: number }>> {
  const out = new Map<string, { file: string; bytes: number }>();
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.startsWith('code-creation,JS,') || !line.endsWith(',*')) continue;
    // code-creation,JS,<kind>,<time>,<address>,<size>,<name file:line:col>,<sfi>,*
    const p = line.split(',');
    const name = p.slice(6, -2).join(',');
    const path = scriptOf(name);
    if (!path.startsWith(SRC)) continue;
    out.set(name, { file: relative(SRC, path), bytes: Number(p[5] ?? 0) });
  }
  return out;
}

export async function codeSize(smoke: boolean): Promise<string[]> {
  const calls = smoke ? 1_000 : 3_000;
  const dir = mkdtempSync(join(tmpdir(), 'finops-code-'));
  try {
    const log = join(dir, 'code.log');
    await run(process.execPath, ['--log-code', `--logfile=${log}`, '--no-logfile-per-isolate', '--import', 'tsx', CHILD, 'plugin', String(calls), '0'], {
      maxBuffer: 2 ** 24,
      timeout: 600_000,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    const fns = await optimized(log);
    const parts = PARTS.map((p) => ({ label: p.label, bytes: 0, functions: 0 }));
    for (const { file, bytes } of fns.values()) {
      const i = PARTS.findIndex((p) => p.test(file));
      const part = parts[i] as (typeof parts)[number];
      part.bytes += bytes;
      part.functions++;
    }
    const total = parts.reduce((n, p) => n + p.bytes, 0);
    const kb = (n: number): string => (n / 1024).toFixed(1);
    if (smoke) return [`Smoke run (${calls} calls; the sizes mean nothing): ${kb(total)} KiB of optimized code in ${fns.size} functions.`];
    return [
      `Converse, full configuration (\`'producer'\`), a \`withAttribution\` scope per call, after ${calls.toLocaleString('en-US')} calls (\`node --log-code\`): the plugin's optimized (TurboFan) machine code, the latest of each function in \`src/\`, by part:`,
      '',
      '| Part | functions | KiB |',
      '|---|---|---|',
      ...parts.filter((p) => p.functions > 0).map((p) => `| ${p.label} | ${p.functions} | ${kb(p.bytes)} |`),
      `| all | ${fns.size} | **${kb(total)}** |`,
      '',
      "Code a call runs is fetched again on every call once the SDK's call between two of them has evicted it (the cachegrind section counts the lines): the smaller this is, the less the plugin costs in place, whatever it costs alone. Code inlined into several callers counts once per caller, as it sits in memory.",
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
