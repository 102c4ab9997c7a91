/**
 * Instructions per call, counted by cachegrind: what wall-clock ratios on a shared machine cannot
 * resolve (they move by several percent). Each side is counted in its own process under
 * `valgrind --tool=cachegrind` with `node --predictable` (single-threaded V8), twice: a warm-up
 * then 0 calls, and the same warm-up then N calls; per call is the difference over N. Every
 * process loads and warms every side alike (see instructions-child.ts), so the SDK's code has
 * tiered up the same way whichever side is counted. V8's
 * optimizing compiler and its garbage collector are left out (when they run shifts from process to
 * process); the rest is the interpreter, the optimized JavaScript, builtins and V8's runtime.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./instructions-child.ts', import.meta.url));

const SIDES = [
  { side: 'bare', label: 'bare client' },
  { side: 'entries', label: "two no-op middlewares with the plugin's options, added as the plugin adds its own (what the SDK spends on two stack entries)" },
  { side: 'plugin', label: "bedrock-finops, full configuration, `'producer'`" },
  { side: 'nobudget', label: '… without the budget' },
  { side: 'minimal', label: '… without the budget and the GenAI histograms (`genAiHistograms: false`)' },
] as const;

/** What runs in V8's optimizing compiler or garbage collector (left out), by function name. */
const LEFT_OUT = /compiler::|Zone|maglev|Maglev|Mark|Sweep|Scaveng|Evacuat|RememberedSet|Compactor|WriteBarrier|RecordWrite|IteratePointers|IterateMaybeWeak|SizeFromMap|Heap::|heap::base|LiveObjectRange|Worklist|Pretenuring|RecordMigrated|GCTracer|BodyDescriptor|ShouldVisit|Concurrent|Incremental/;

interface Counts {
  /** Instructions, compiler and GC left out. */
  readonly counted: number;
  /** Of which in code V8 generated at run time (JavaScript and its inline caches: cachegrind's `???`). */
  readonly generated: number;
  /** Of which in V8's runtime property lookups (inline-cache misses: how many depends on where maps land in memory, so it moves from process to process). */
  readonly lookups: number;
  /** Code lines missed by the modelled second-level cache (fetched from further away), compiler and GC left out. */
  readonly codeMisses: number;
  /** Data lines missed by it (reads and writes), compiler and GC left out. */
  readonly dataMisses: number;
}

/** The second-level cache cachegrind models (its last level): 512 KiB, 8-way, 64-byte lines, as a core's L2 here. */
const L2 = '524288,8,64';

function parse(file: string): Counts {
  let fn = '';
  let events: string[] = [];
  let counted = 0;
  let generated = 0;
  let lookups = 0;
  let codeMisses = 0;
  let dataMisses = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('events:')) events = line.slice('events:'.length).trim().split(/\s+/);
    else if (line.startsWith('fn=')) fn = line.slice(3);
    else if (line.length > 0 && line.charCodeAt(0) >= 48 && line.charCodeAt(0) <= 57) {
      if (LEFT_OUT.test(fn)) continue;
      const values = line.split(' ');
      const at = (event: string): number => {
        const i = events.indexOf(event);
        return i < 0 ? 0 : Number(values[i + 1] ?? 0);
      };
      const ir = at('Ir');
      counted += ir;
      codeMisses += at('ILmr');
      dataMisses += at('DLmr') + at('DLmw');
      if (fn === '???') generated += ir;
      else if (fn.includes('LookupIterator')) lookups += ir;
    }
  }
  return { counted, generated, lookups, codeMisses, dataMisses };
}

async function counted(dir: string, side: string, warm: number, calls: number): Promise<Counts> {
  const out = join(dir, `${side}-${calls}.out`);
  await run('valgrind', ['--tool=cachegrind', '--cache-sim=yes', `--LL=${L2}`, `--cachegrind-out-file=${out}`, process.execPath, '--predictable', '--import', 'tsx', CHILD, side, String(warm), String(calls)], {
    maxBuffer: 2 ** 24,
    timeout: 1_800_000,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  return parse(out);
}

/** Runs `tasks` at most `n` at a time. */
async function limited<T>(n: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await (tasks[i] as () => Promise<T>)();
      }
    }),
  );
  return results;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const sign = (n: number, digits = 0): string => `${n >= 0 ? '+' : '−'}${digits === 0 ? fmt(Math.abs(n)) : Math.abs(n).toFixed(digits)}`;

export async function instructions(smoke: boolean): Promise<string[]> {
  try {
    await run('valgrind', ['--version']);
  } catch {
    return ['valgrind is not installed (`apt-get install valgrind`): instruction counts not measured.'];
  }
  // A smoke run counts the plugin's side over a few calls: it keeps the section working, its counts mean nothing.
  const warm = smoke ? 5 : 1_500;
  const calls = smoke ? 5 : 2_000;
  const sides = smoke ? SIDES.filter((s) => s.side === 'plugin') : SIDES;
  const dir = mkdtempSync(join(tmpdir(), 'finops-instructions-'));
  try {
    const tasks = sides.flatMap(({ side }) => [() => counted(dir, side, warm, 0), () => counted(dir, side, warm, calls)]);
    const counts = await limited(Math.max(1, cpus().length), tasks);
    const per = sides.map(({ label }, i) => {
      const zero = counts[2 * i] as Counts;
      const n = counts[2 * i + 1] as Counts;
      const d = (k: keyof Counts): number => (n[k] - zero[k]) / calls;
      return { label, counted: d('counted'), generated: d('generated'), lookups: d('lookups'), codeMisses: d('codeMisses'), dataMisses: d('dataMisses') };
    });
    if (smoke) return [`Smoke run (${fmt(calls)} calls after ${fmt(warm)}, the plugin's side only; the counts mean nothing): ${fmt((per[0] as (typeof per)[number]).counted)} instructions per call.`];
    const bare = per[0] as (typeof per)[number];
    return [
      `Converse, a \`withAttribution\` scope per call on every side; every process builds every side's client and warms each with ${fmt(warm)} calls (interleaved blocks), then counts ${fmt(calls)} calls of one side (the difference between a run of ${fmt(calls)} and one of 0); instructions per call, V8's optimizing compiler and garbage collector left out:`,
      '',
      '| Side | instructions per call | added to the bare client | of which generated code (JS, inline caches) | of which runtime property lookups | second-level cache misses per call: code lines | data lines |',
      '|---|---|---|---|---|---|---|',
      ...per.map(
        (p) =>
          `| ${p.label} | ${fmt(p.counted)} | ${p === bare ? '' : `${sign(p.counted - bare.counted)} (${sign(((p.counted - bare.counted) / bare.counted) * 100, 1)}%)`} | ${fmt(p.generated)}${p === bare ? '' : ` (${sign(p.generated - bare.generated)})`} | ${fmt(p.lookups)}${p === bare ? '' : ` (${sign(p.lookups - bare.lookups)})`} | ${fmt(p.codeMisses)}${p === bare ? '' : ` (${sign(p.codeMisses - bare.codeMisses)})`} | ${fmt(p.dataMisses)}${p === bare ? '' : ` (${sign(p.dataMisses - bare.dataMisses)})`} |`,
      ),
      '',
      "Between processes of one side, generated code moves by ~3k instructions per call and V8's runtime property lookups by ~10–20k (a megamorphic inline cache that misses its stub cache, mostly in the SDK; how often depends on where maps land in memory): differences below that are noise.",
      '',
      "Cache misses are cachegrind's model of a 512 KiB second-level cache (a core's L2 here), 64-byte lines: a line missed there comes from the shared L3 or memory, tens to hundreds of cycles each. The SDK's own call misses thousands of lines of code and data: between two calls of the plugin's, the SDK's work evicts the plugin's code and data, so each call fetches them again. Two no-op stack entries add instructions (V8 runtime lookups, see the next section) but no misses; the plugin's work adds few instructions and many misses: what the plugin costs in place, against what it costs alone (a few µs), is mostly fetching its code and data again. The last two rows take parts away (the budget: admission, reservation and commit on the in-memory store; the in-process GenAI histograms): what each part brings is the difference between rows. Miss counts move between runs by a few hundred lines (where code and objects land decides which lines conflict in the cache), so the split between parts moves too; the order of magnitude does not.",
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
