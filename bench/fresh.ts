/**
 * The Converse loop in fresh processes, variants alternating run by run: nothing shared between
 * them, not even Node 20's async hooks (which stay on for every promise once any
 * `AsyncLocalStorage` has been entered, so the in-process bare client pays them too).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fmt, median, range } from './stats.js';

const exec = promisify(execFile);
const CHILD_VARIANTS = ['bare', 'bare+scope', 'producer+scope', 'producer', 'default+scope', 'peer'] as const;
const LABELS: Record<(typeof CHILD_VARIANTS)[number], string> = {
  bare: 'bare client',
  'bare+scope': 'bare client, each call in a `withAttribution` scope (no plugin)',
  'producer+scope': "bedrock-finops `'producer'`, scope per call",
  producer: "bedrock-finops `'producer'`, no per-call scope",
  'default+scope': 'bedrock-finops default (`true`), scope per call',
  peer: 'OTel instrumentation-aws-sdk 0.78 (tracing + metrics)',
};

export async function fresh(smoke: boolean): Promise<string[]> {
  const runs = smoke ? 1 : 4;
  const calls = smoke ? 100 : 2_000;
  const results = new Map<string, { wall: number; cpu: number }[]>(CHILD_VARIANTS.map((v) => [v, []]));
  const child = fileURLToPath(new URL('./child.ts', import.meta.url));
  for (let r = 0; r < runs; r++)
    for (let i = 0; i < CHILD_VARIANTS.length; i++) {
      // Rotate the order run by run, so no variant always follows the same neighbour.
      const variant = CHILD_VARIANTS[(r + i) % CHILD_VARIANTS.length]!;
      const { stdout } = await exec(process.execPath, ['--import', 'tsx', child, variant, String(calls)], { env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
      const [wall, cpu] = stdout.trim().split(' ').map(Number);
      results.get(variant)!.push({ wall: wall ?? Number.NaN, cpu: cpu ?? Number.NaN });
    }
  const bare = results.get('bare')!;
  // Each run's ratio pairs it with the bare run of the same round.
  const ratios = (v: string, m: 'wall' | 'cpu'): number[] => results.get(v)!.map((u, r) => u[m] / (bare[r]?.[m] ?? Number.NaN));
  return [
    `Converse, ${runs} runs per variant in alternating order, each a fresh process: a warm-up round, then the median of 3 rounds of ${calls.toLocaleString('en-US')} calls. µs per call is the median run's; a ratio is the median of each run's ratio to the bare run of its round, the lowest and highest in brackets.`,
    '',
    '| Variant | µs per call | ratio, wall time | ratio, CPU time |',
    '|---|---|---|---|',
    ...CHILD_VARIANTS.map((v) => {
      const w = ratios(v, 'wall');
      const c = ratios(v, 'cpu');
      return `| ${LABELS[v]} | ${fmt(median(results.get(v)!.map((u) => u.wall)))} | **${fmt(median(w), 3)}×** (${range(w, 3)}) | ${fmt(median(c), 3)}× (${range(c, 3)}) |`;
    }),
  ];
}
