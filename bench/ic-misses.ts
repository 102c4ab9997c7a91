/**
 * Inline-cache misses and new maps per call: where a stack entry's cost goes. Each side runs
 * twice in its own process under `node --log-ic --log-maps` (V8 logs every inline-cache miss
 * handled in its runtime, and every map it makes): a warm-up then 0 calls, and the same warm-up
 * then N calls; per call is the difference over N. Counted: megamorphic misses (a property access
 * site that has seen too many object shapes and did not find this one in V8's stub cache), which
 * recur on every call and each costs a runtime lookup, grouped by the script of the code that
 * missed; and maps (hidden classes) made, each of which is runtime work and old-space garbage.
 */
import { execFile } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./instructions-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));

const SIDES = [
  { side: 'bare', label: 'bare client' },
  { side: 'plainEntries', label: "two no-op middlewares with the plugin's options, added as any entry is" },
  { side: 'entries', label: '… added as the plugin adds its own (with an empty `before` and `after`)' },
  { side: 'plugin', label: "bedrock-finops, full configuration, `'producer'`" },
] as const;

/** Where missing code lives, by script. */
const GROUPS = [
  { key: 'stack', label: "the SDK's middleware stack (`@smithy/core` client: building each call's handler chain)", test: (s: string) => s.includes('@smithy/core/dist-cjs/submodules/client/') },
  { key: 'plugin', label: "the plugin's own code (`src/`)", test: (s: string) => s.startsWith(join(ROOT, 'src')) },
  { key: 'other', label: 'the rest of the SDK and Node', test: () => true },
] as const;
type Group = (typeof GROUPS)[number]['key'];
type Counts = Record<Group | 'maps', number>;

interface CodeRange {
  readonly start: number;
  readonly end: number;
  readonly script: string;
}

/** The script a code object's log name points at (`name file:line:col`), or ''. */
export function scriptOf(name: string): string {
  const m = /\s(\/[^\s:]+|file:\/\/[^\s:]+)(?::\d+){0,2}/.exec(name);
  if (m === null) return '';
  const path = m[1] ?? '';
  return path.startsWith('file://') ? fileURLToPath(path) : path;
}

/** Megamorphic misses per group in one `--log-ic` log. */
async function parse(file: string): Promise<Counts> {
  const codes: CodeRange[] = [];
  const byPc = new Map<number, Group>();
  const counts: Counts = { stack: 0, plugin: 0, other: 0, maps: 0 };
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.startsWith('code-creation,')) {
      const p = line.split(',');
      const start = parseInt(p[4] ?? '0', 16);
      codes.push({ start, end: start + Number(p[5] ?? 0), script: scriptOf(p.slice(6).join(',')) });
      // Code created later may reuse an address: what a pc meant is looked up again.
      byPc.clear();
      continue;
    }
    // A map made: a transition to a new one, a copy, a normalization (not `map-create`/`map-details`, which describe).
    if (line.startsWith('map,')) {
      counts.maps++;
      continue;
    }
    const m = /^\w+IC,(0x[0-9a-f]+),[^,]*,[^,]*,[^,]*,N,N,/.exec(line);
    if (m === null) continue;
    const pc = parseInt(m[1] ?? '0', 16);
    let group = byPc.get(pc);
    if (group === undefined) {
      let script = '';
      for (let i = codes.length - 1; i >= 0; i--) {
        const c = codes[i] as CodeRange;
        if (pc >= c.start && pc < c.end) {
          script = c.script;
          break;
        }
      }
      group = (GROUPS.find((g) => g.test(script)) ?? GROUPS[2]).key;
      byPc.set(pc, group);
    }
    counts[group]++;
  }
  return counts;
}

async function logged(dir: string, side: string, warm: number, calls: number): Promise<Counts> {
  const log = join(dir, `${side}-${calls}.log`);
  await run(process.execPath, ['--log-ic', '--log-maps', `--logfile=${log}`, '--no-logfile-per-isolate', '--import', 'tsx', CHILD, side, String(warm), String(calls)], {
    maxBuffer: 2 ** 24,
    timeout: 600_000,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  return parse(log);
}

const fmt = (n: number): string => n.toFixed(1);
const sign = (n: number): string => `${n >= 0 ? '+' : '−'}${Math.abs(n).toFixed(1)}`;

export async function icMisses(smoke: boolean): Promise<string[]> {
  const warm = smoke ? 5 : 1_500;
  const calls = smoke ? 5 : 2_000;
  const sides = smoke ? SIDES.filter((s) => s.side === 'plugin') : SIDES;
  const dir = mkdtempSync(join(tmpdir(), 'finops-ic-'));
  try {
    const per: { label: string; counts: Counts; total: number }[] = [];
    for (const { side, label } of sides) {
      const zero = await logged(dir, side, warm, 0);
      const n = await logged(dir, side, warm, calls);
      const counts = { stack: (n.stack - zero.stack) / calls, plugin: (n.plugin - zero.plugin) / calls, other: (n.other - zero.other) / calls, maps: (n.maps - zero.maps) / calls };
      per.push({ label, counts, total: counts.stack + counts.plugin + counts.other });
    }
    if (smoke) return [`Smoke run (${calls} calls after ${warm}, the plugin's side only; the counts mean nothing): ${fmt(per[0]?.total ?? 0)} megamorphic misses per call.`];
    const bare = per[0] as (typeof per)[number];
    const cell = (p: (typeof per)[number], v: number, b: number): string => (p === bare ? fmt(v) : `${fmt(v)} (${sign(v - b)})`);
    return [
      `Converse, a \`withAttribution\` scope per call on every side, ${calls.toLocaleString('en-US')} calls after ${warm.toLocaleString('en-US')} of warm-up (\`node --log-ic --log-maps\`, the difference between a run of ${calls.toLocaleString('en-US')} and one of 0): megamorphic inline-cache misses per call, by where the code that missed lives, and the maps (hidden classes) V8 made per call:`,
      '',
      `| Side | misses per call | ${GROUPS.map((g) => g.label).join(' | ')} | maps made per call |`,
      `|---|---|${GROUPS.map(() => '---').join('|')}|---|`,
      ...per.map((p) => `| ${p.label} | ${cell(p, p.total, bare.total)} | ${GROUPS.map((g) => cell(p, p.counts[g.key], bare.counts[g.key])).join(' | ')} | ${cell(p, p.counts.maps, bare.counts.maps)} |`),
      '',
      "The SDK builds each call's handler chain anew (`resolveMiddleware`), copying every stack entry with an object spread and adding two arrays (`{ ...entry, before: [], after: [] }`). V8 gives a spread's copy a map that is outside its transition tree, so adding `before` and `after` to it makes two new maps, on every call, for every entry (`--log-maps` logs them as transitions of a detached map). Every property site that reads the copies (name, aliases, step, priority, middleware, before, after) then sees new maps on every call, misses and goes to V8's runtime, and the maps are old-space garbage. An entry that already has `before` and `after` is copied with them, and the SDK's arrays replace its own without a new map: the plugin adds its two entries that way (`stackEntryOptions` in `src/middleware.ts`), so its entries cost the SDK no maps and a quarter of the misses; the SDK's own entries (and the per-request header objects) still make theirs. The plugin keeps to two entries (metering, and the per-attempt hook inside the SDK's retries).",
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
