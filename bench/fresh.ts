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
  const results = new Map<string, number[]>(CHILD_VARIANTS.map((v) => [v, []]));
  const child = fileURLToPath(new URL('./child.ts', import.meta.url));
  for (let r = 0; r < runs; r++)
    for (let i = 0; i < CHILD_VARIANTS.length; i++) {
      // Rotate the order run by run, so no variant always follows the same neighbour.
      const variant = CHILD_VARIANTS[(r + i) % CHILD_VARIANTS.length]!;
      const { stdout } = await exec(process.execPath, ['--import', 'tsx', child, variant, String(calls)], { env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
      results.get(variant)!.push(Number(stdout.trim()));
    }
  const bare = median(results.get('bare')!);
  return [
    `Converse, ${runs} runs per variant in alternating order, each a fresh process: a warm-up round, then the median of 3 rounds of ${calls.toLocaleString('en-US')} calls (medians over runs; in brackets the range of each run's ratio to the bare run of its round).`,
    '',
    '| Variant | µs per call | ratio to bare |',
    '|---|---|---|',
    ...CHILD_VARIANTS.map((v) => {
      const us = results.get(v)!;
      // Each run's ratio pairs it with the bare run of the same round.
      const ratios = us.map((u, r) => u / (results.get('bare')![r] ?? Number.NaN));
      return `| ${LABELS[v]} | ${fmt(median(us))} | **${fmt(median(us) / bare, 3)}×** (${range(ratios, 3)}) |`;
    }),
  ];
}
