/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`) into its top self-time functions, as a
 * Markdown table: `npx tsx bench/cpuprofile.ts FILE.cpuprofile [rows] [from-function]`; or what one
 * run spent more than another, per call: `npx tsx bench/cpuprofile.ts --diff A B CALLS [rows] [from]`.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fmt, signed } from './stats.js';

interface CpuProfile {
  readonly nodes: readonly { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: readonly number[] }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  readonly name: string;
  readonly where: string;
  readonly ms: number;
  readonly share: number;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// V8's pseudo-frames: idle time and the collector are reported apart from code.
const PSEUDO = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

function where(url: string, line: number): string {
  if (url === '') return '(native)';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const short = path.startsWith(ROOT) ? relative(ROOT, path).replace(/^node_modules\//, '') : path;
  // tsx emits each TypeScript file on a line or so: its line numbers mean nothing there.
  return path.endsWith('.ts') ? short : `${short}:${line + 1}`;
}

/** The index of the first sample with `fn` on its stack (0 when `fn` is undefined or never seen). */
function firstSampleUnder(profile: CpuProfile, fn: string | undefined): number {
  if (fn === undefined) return 0;
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const names = new Map(profile.nodes.map((n) => [n.id, n.callFrame.functionName]));
  for (let i = 0; i < profile.samples.length; i++)
    for (let id: number | undefined = profile.samples[i]; id !== undefined; id = parent.get(id)) if (names.get(id) === fn) return i;
  return 0;
}

/**
 * Self time per function (name and place), largest first; `(garbage collector)` is kept as a
 * row, idle time is left out. With `from`, samples before the first one under that function
 * (module loading, set-up) are left out too.
 */
export function selfTimes(profile: CpuProfile, from?: string): { rows: SelfTime[]; totalMs: number } {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const sums = new Map<string, { name: string; where: string; us: number }>();
  let total = 0;
  for (let i = firstSampleUnder(profile, from); i < profile.samples.length; i++) {
    const frame = byNode.get(profile.samples[i]!);
    const us = profile.timeDeltas[i] ?? 0;
    if (frame === undefined || frame.functionName === '(idle)') continue;
    total += us;
    const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
    const at = PSEUDO.has(name) ? '' : where(frame.url, frame.lineNumber);
    const key = `${name}@${at}`;
    const s = sums.get(key) ?? { name, where: at, us: 0 };
    s.us += us;
    sums.set(key, s);
  }
  const rows = [...sums.values()].sort((a, b) => b.us - a.us).map((s) => ({ name: s.name, where: s.where, ms: s.us / 1000, share: total === 0 ? 0 : s.us / total }));
  return { rows, totalMs: total / 1000 };
}

/** The top `n` rows as a Markdown table. */
export function selfTimeTable(profile: CpuProfile, n = 15, from?: string): string[] {
  const { rows, totalMs } = selfTimes(profile, from);
  return [
    `| self time | share | function | where |`,
    '|---|---|---|---|',
    ...rows.slice(0, n).map((r) => `| ${fmt(r.ms, 0)} ms | ${fmt(r.share * 100)}% | \`${r.name}\` | ${r.where === '' ? '' : `\`${r.where}\``} |`),
    '',
    `(${fmt(totalMs, 0)} ms of samples outside idle time${from === undefined ? '' : `, from the first under \`${from}\``}.)`,
  ];
}

/**
 * Where `b` spent more (or less) self time than `a`, per call (both profiles ran `calls` calls):
 * the top `n` differences by size, as a Markdown table.
 */
export function diffTable(a: CpuProfile, b: CpuProfile, calls: number, n = 15, from?: string): string[] {
  const key = (r: SelfTime): string => `${r.name}@${r.where}`;
  const before = new Map(selfTimes(a, from).rows.map((r) => [key(r), r]));
  const after = selfTimes(b, from).rows;
  const deltas = new Map<string, { name: string; where: string; us: number }>();
  for (const r of after) deltas.set(key(r), { name: r.name, where: r.where, us: ((r.ms - (before.get(key(r))?.ms ?? 0)) * 1000) / calls });
  for (const r of before.values()) if (!deltas.has(key(r))) deltas.set(key(r), { name: r.name, where: r.where, us: (-r.ms * 1000) / calls });
  const rows = [...deltas.values()].sort((x, y) => Math.abs(y.us) - Math.abs(x.us)).slice(0, n);
  const total = [...deltas.values()].reduce((sum, d) => sum + d.us, 0);
  return [
    '| µs per call | function | where |',
    '|---|---|---|',
    ...rows.map((r) => `| ${signed(r.us, 2)} | \`${r.name}\` | ${r.where === '' ? '' : `\`${r.where}\``} |`),
    '',
    `(All differences together: ${signed(total)} µs per call.)`,
  ];
}

export function readProfile(path: string): CpuProfile {
  return JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === '--diff') {
  const [a, b, calls, rows, from] = process.argv.slice(3);
  if (a === undefined || b === undefined || calls === undefined) throw new Error('usage: npx tsx bench/cpuprofile.ts --diff A.cpuprofile B.cpuprofile CALLS [rows] [from-function]');
  console.log(diffTable(readProfile(a), readProfile(b), Number(calls), Number(rows ?? 15), from).join('\n'));
} else if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: npx tsx bench/cpuprofile.ts FILE.cpuprofile [rows] [from-function]');
  console.log(selfTimeTable(readProfile(file), Number(process.argv[3] ?? 15), process.argv[4]).join('\n'));
}
