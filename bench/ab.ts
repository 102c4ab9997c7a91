/**
 * Two builds of the plugin in one process: this checkout and another (a git worktree of a
 * change), each in its full configuration, next to the bare client and to a control: a copy of
 * this checkout's `src/` and `bench/` in a directory of its own, so that it runs code of its own
 * as the other two do (what the two copies of one build differ by is the noise). Blocks rotate
 * through the sides; medians over rounds.
 *
 * One process, because the SDK's code is then one and the same for every side: a change is
 * judged by what it does to the call, not by where V8's tiering of the SDK happened to land in
 * another process (two cachegrind runs of builds differing by one `Object.freeze` differed by
 * 43,000 instructions per call, spread over SDK code and V8's slow paths; this comparison put
 * the two builds between its two copies of one).
 *
 * Three measures:
 * - default: whole calls through the client with the plugin, CPU time against the bare client.
 *   Its noise is a few percent of a call (~15–35 µs here), more than most changes.
 * - `--cold`: the plugin's metering middleware with a whole bare call as its `next()`, its own
 *   time only (before sending, after the answer): what its work costs in place, where the SDK's
 *   work has evicted its code and data from the CPU's caches, without the SDK's per-entry cost
 *   or the plugin's second (per-attempt) entry; and warm, right after itself. In µs: copies of
 *   one build agree to ~1 µs in a run here.
 * - `--curve`: this checkout only, from a fresh start: the `--cold` measure and the bare call
 *   inside it, per 500 calls, for 20,000 calls (how long the warm-up must be).
 * - `--floor`: this checkout only: whole calls, CPU time against the bare client, for what any
 *   plugin shaped like this one pays before doing any work: a per-call attribution scope, two
 *   no-op stack entries (added as any entry is, and as the plugin adds its own), and the same with
 *   the outer one waiting for the answer (one promise), beside the plugin; and the bare client
 *   and the plugin on a stack put through `reshapeMiddlewareStack` (every entry reshaped).
 * - `--split`: this checkout only: whole calls through a client with the plugin, each of its two
 *   stack entries wrapped by a timer, beside the bare client and two no-op entries in the same
 *   places timed the same way: what the plugin adds per call, each entry's own work, what the
 *   entries and timers alone add, and the rest (the SDK's code slowed by what the plugin did).
 *
 * Usage: `node --import tsx bench/ab.ts <other checkout> [--cold] [--op=invoke] [--rounds=N]
 * [--warmup=N]`, or `node --import tsx bench/ab.ts --curve | --split | --floor`. The other checkout must resolve the
 * same packages (`ln -s "$PWD/node_modules" <other>/node_modules`).
 * `--smoke` runs a few calls per side (the test keeps it from rotting; no timing is asserted).
 */
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { FINOPS_ATTEMPT_MIDDLEWARE, FINOPS_MIDDLEWARE, reshapeMiddlewareStack } from '../src/index.js';
import { stackEntryOptions } from '../src/middleware.js';
import { client, CONVERSE_OP, INVOKE_OP, timed } from './clients.js';
import { addNoOps } from './decompose.js';
import { fmt, median, signed } from './stats.js';

type PluginConfig = typeof import('./plugin-config.js');
type Alone = typeof import('./middleware-alone.js');

const args = process.argv.slice(2);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// `--curve`, `--split` and `--floor` time this checkout alone: the other checkout may be left out.
const alone = args.includes('--curve') || args.includes('--split') || args.includes('--floor');
const other = args.find((a) => !a.startsWith('--')) ?? (alone ? root : undefined);
const flag = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const usage = 'usage: node --import tsx bench/ab.ts <other checkout> [--cold] [--op=invoke] [--rounds=N] [--warmup=N] | --curve | --split | --floor';
if (other === undefined || !existsSync(resolve(other, 'bench/plugin-config.ts'))) {
  console.error(usage);
  process.exit(2);
}
const smoke = args.includes('--smoke');
const cold = args.includes('--cold');
/** A positive integer flag, or its default; anything else ends the run with the usage. */
function count(name: string, fallback: number): number {
  const n = Number(flag(name) ?? fallback);
  if (Number.isInteger(n) && n >= 1) return n;
  console.error(`--${name} must be a positive integer\n${usage}`);
  return process.exit(2);
}
const rounds = smoke ? 1 : count('rounds', cold ? 90 : 15);
// Calls per side before timing: the SDK's code and the plugin's keep getting faster for ~10,000
// calls here (V8 re-optimizing, counters outgrowing small integers), so a shorter warm-up
// measures a process still getting faster.
const warmUp = smoke ? 5 : count('warmup', 10_000);
const op = flag('op') === 'invoke' ? INVOKE_OP : CONVERSE_OP;

/** A build's benchmark modules, loaded from its checkout. */
async function load(dir: string): Promise<{ config: PluginConfig; alone: Alone }> {
  const from = (file: string): string => pathToFileURL(resolve(dir, 'bench', file)).href;
  return { config: (await import(from('plugin-config.ts'))) as PluginConfig, alone: (await import(from('middleware-alone.ts'))) as Alone };
}

/**
 * This checkout, the other, and the control: this checkout's src/ and bench/ copied into a
 * directory inside it (so its packages resolve), loaded as a build of its own and removed once
 * loaded (and when the process ends).
 */
async function loadBuilds(): Promise<{ label: string; config: PluginConfig; alone: Alone }[]> {
  const controlDir = mkdtempSync(join(root, '.ab-control-'));
  process.on('exit', () => rmSync(controlDir, { recursive: true, force: true }));
  for (const part of ['src', 'bench']) cpSync(join(root, part), join(controlDir, part), { recursive: true });
  const loaded = [
    { label: 'this checkout', ...(await load(root)) },
    { label: `the other (${other})`, ...(await load(other as string)) },
    { label: 'this checkout, a copy (the control)', ...(await load(controlDir)) },
  ];
  rmSync(controlDir, { recursive: true, force: true });
  return loaded;
}

const builds = alone ? [{ label: 'this checkout', ...(await load(root)) }] : await loadBuilds();

if (args.includes('--curve')) await curve();
else if (args.includes('--split')) await split();
else if (args.includes('--floor')) await floor();
else if (cold) await coldRun();
else await inPlace();

interface Side {
  readonly label: string;
  readonly client: BedrockRuntimeClient;
  /** Each call in its own attribution scope. */
  readonly scoped: boolean;
}

/**
 * Whole calls through each side's client, after `warmUp` calls each (in blocks, sides in turn);
 * a round's ratio is a side's median block over the first side's, in CPU time: the median round's
 * ratio per side.
 */
async function ratios(sides: readonly Side[]): Promise<number[]> {
  const [blocks, calls] = smoke ? [2, 5] : [16, 50];
  for (let done = 0; done < warmUp; done += calls) for (const side of sides) await timed(side.client, op, Math.min(calls, warmUp - done), side.scoped);
  const per = sides.map((): number[] => []);
  for (let r = 0; r < rounds; r++) {
    const cpu = sides.map((): number[] => []);
    for (let b = 0; b < blocks; b++)
      for (let k = 0; k < sides.length; k++) {
        const i = (b + k + r) % sides.length;
        cpu[i]!.push((await timed(sides[i]!.client, op, calls, sides[i]!.scoped)).cpu);
      }
    const first = median(cpu[0]!);
    sides.forEach((_, i) => per[i]!.push(median(cpu[i]!) / first));
  }
  console.log(`${op.name}, ${rounds} rounds of ${blocks} × ${calls}-call blocks per side after ${warmUp.toLocaleString('en-US')} calls each; CPU time per call against the bare client (median round):`);
  return per.map(median);
}

/** Whole calls through each build's client, CPU time against the bare client's. */
async function inPlace(): Promise<void> {
  const sides = [{ label: 'bare client', client: client(op.canned), scoped: true }, ...builds.map((b) => ({ label: b.label, client: client(op.canned, b.config.meteredPlugin('producer').finops), scoped: true }))];
  const r = await ratios(sides);
  console.log('  (every side: a scope per call)');
  for (const [i, side] of sides.entries()) console.log(`  ${side.label.padEnd(40)} ${fmt(r[i]!, 3)}×`);
}

/**
 * What a plugin with this one's shape pays before any work of its own: a scope per call, two
 * no-op entries where the plugin puts its two (added plainly, and with an empty before/after as
 * the plugin adds its own), and the same with the outer entry waiting for the answer; beside
 * this checkout's plugin.
 */
async function floor(): Promise<void> {
  const reshaped = (c: BedrockRuntimeClient): BedrockRuntimeClient => {
    if (reshapeMiddlewareStack(c.middlewareStack) === 0) throw new Error('reshapeMiddlewareStack re-added no entry');
    return c;
  };
  const entries = (shaped: boolean, waiting: boolean): BedrockRuntimeClient => {
    const c = client(op.canned);
    const options = <O extends object>(o: O): O => (shaped ? stackEntryOptions(o) : o);
    const outer: Middleware = waiting ? (next) => (a) => next(a).then((out) => out) : (next) => next;
    c.middlewareStack.add(outer as never, options({ ...FINOPS_MIDDLEWARE, name: 'floorMetering' }));
    c.middlewareStack.add(((next: Handler) => next) as never, options({ ...FINOPS_ATTEMPT_MIDDLEWARE, name: 'floorAttempt' }));
    return c;
  };
  const sides: Side[] = [
    { label: 'bare client', client: client(op.canned), scoped: false },
    { label: 'bare client, a scope per call', client: client(op.canned), scoped: true },
    { label: '+ two no-op entries, added as any entry is', client: entries(false, false), scoped: true },
    { label: "+ two no-op entries, added as the plugin's", client: entries(true, false), scoped: true },
    { label: '  … the outer one waiting for the answer', client: entries(true, true), scoped: true },
    { label: 'the plugin (full configuration, a scope per call)', client: client(op.canned, builds[0]!.config.meteredPlugin('producer').finops), scoped: true },
    { label: 'bare client, reshapeMiddlewareStack', client: reshaped(client(op.canned)), scoped: false },
    { label: 'the plugin, reshapeMiddlewareStack', client: reshaped(client(op.canned, builds[0]!.config.meteredPlugin('producer').finops)), scoped: true },
  ];
  const r = await ratios(sides);
  for (const [i, side] of sides.entries()) console.log(`  ${side.label.padEnd(52)} ${fmt(r[i]!, 3)}×`);
}

type Build = Awaited<ReturnType<typeof loadBuilds>>[number];

/**
 * `build`'s metering middleware (full configuration) with a whole bare Converse call as its
 * `next()`: `time(n)` makes `n` calls and answers µs per call of its own work before sending and
 * after the answer (wall-clock), and of the bare call between.
 */
function aroundBareCall(build: Build): (n: number) => Promise<{ before: number; after: number; sdk: number }> {
  const bare = client(CONVERSE_OP.canned);
  let sent = 0;
  let answered = 0;
  const handler = build.alone.pluginHandler(build.config.meteredPlugin('producer').finops, async () => {
    sent = performance.now();
    await CONVERSE_OP.send(bare);
    answered = performance.now();
  });
  const input = build.alone.ALONE_INPUT;
  return async (n) => {
    let before = 0;
    let after = 0;
    let sdk = 0;
    for (let j = 0; j < n; j++) {
      sent = Number.NaN;
      const t0 = performance.now();
      await handler({ input });
      const t1 = performance.now();
      // An older checkout's handler ignores the `next()` it is given: it would time no SDK call.
      if (Number.isNaN(sent)) throw new Error(`${build.label}: its bench/middleware-alone.ts takes no next() (older than --cold)`);
      before += sent - t0;
      after += t1 - answered;
      sdk += answered - sent;
    }
    return { before: (before * 1000) / n, after: (after * 1000) / n, sdk: (sdk * 1000) / n };
  };
}

/**
 * Each build's metering middleware in place of the SDK's stack: its `next()` makes a whole bare
 * call, so what the middleware does before sending and after the answer runs, as in place, after
 * the SDK's work has evicted its code and data from the CPU's caches. Timed call by call (wall
 * clock): from the call to its `next()` (before sending), and from the end of its `next()` to
 * the call's end (after the answer). Warm: the same middleware with a `next()` that answers at
 * once, timed right after another run of itself. A block is 20 calls.
 */
async function coldRun(): Promise<void> {
  const calls = smoke ? 3 : 20;
  const sides = builds.map((b) => {
    // A configuration of its own for the warm side: the cold side's counters and caches are not shared.
    const { finops } = b.config.meteredPlugin('producer');
    return { label: b.label, cold: aroundBareCall(b), warm: b.alone.pluginHandler(finops), input: b.alone.ALONE_INPUT };
  });
  const warmBlock = async (side: (typeof sides)[number]): Promise<number> => {
    let total = 0;
    for (let j = 0; j < calls; j++) {
      await side.warm({ input: side.input });
      const t0 = performance.now();
      await side.warm({ input: side.input });
      total += performance.now() - t0;
    }
    return (total * 1000) / calls;
  };
  for (let i = 0; i < warmUp / calls; i++) for (const side of sides) await side.cold(calls);
  const before = sides.map((): number[] => []);
  const after = sides.map((): number[] => []);
  const warm = sides.map((): number[] => []);
  for (let r = 0; r < rounds; r++)
    for (let k = 0; k < sides.length; k++) {
      const i = (r + k) % sides.length;
      const us = await sides[i]!.cold(calls);
      before[i]!.push(us.before);
      after[i]!.push(us.after);
      if (r % 3 === 0 || smoke) warm[i]!.push(await warmBlock(sides[i]!));
    }
  const total = (i: number): number => median(before[i]!) + median(after[i]!);
  console.log(`The plugin's metering middleware (Converse-shaped, full configuration, no per-call scope) around a bare call, ${rounds} rounds of ${calls}-call blocks per side after ${warmUp.toLocaleString('en-US')} calls each; µs per call of its own work (median block): in place (before sending + after the answer) and alone, right after itself (warm):`);
  for (const [i, side] of sides.entries())
    console.log(`  ${side.label.padEnd(40)} in place ${fmt(total(i), 2)} µs${i === 0 ? '' : ` (${signed(total(i) - total(0), 2)})`} = ${fmt(median(before[i]!), 2)} + ${fmt(median(after[i]!), 2)}   warm ${fmt(median(warm[i]!), 2)} µs`);
}

/** This checkout's metering middleware around a bare call from the process's first call on: its own work and the bare call, per window of calls. */
async function curve(): Promise<void> {
  const [windows, size] = smoke ? [2, 5] : [40, 500];
  const time = aroundBareCall(builds[0]!);
  console.log(`The plugin's metering middleware around a bare call from this process's first call (Converse-shaped, full configuration), per ${size} calls: µs per call of its own work in place / of the bare call:`);
  const cells: string[] = [];
  for (let w = 1; w <= windows; w++) {
    const { before, after, sdk } = await time(size);
    cells.push(`${(w * size).toLocaleString('en-US')}: ${fmt(before + after, 1)} / ${fmt(sdk, 0)}`);
  }
  for (let i = 0; i < cells.length; i += 5) console.log(`  ${cells.slice(i, i + 5).join('   ')}`);
}

type Handler = (args: unknown) => Promise<unknown>;
type Middleware = (next: Handler, context: unknown) => Handler;

/**
 * A client with two stack entries (`apply` adds them: the plugin's, or two no-ops in their
 * places), each wrapped by a timer: `own()` answers the µs of each entry's own work (its time
 * less its `next()`'s) since the last call.
 */
function timedEntries(apply: (stack: Pick<BedrockRuntimeClient['middlewareStack'], 'add' | 'identify' | 'remove'>) => void): { client: BedrockRuntimeClient; own: () => { metering: number; attempt: number } } {
  const c = client(op.canned);
  const ms = { metering: 0, attempt: 0 };
  const stack = c.middlewareStack;
  const add = (mw: Middleware, options: { step?: string }): void => {
    const part = options.step === FINOPS_MIDDLEWARE.step ? 'metering' : 'attempt';
    const timedMw: Middleware = (next, context) => {
      let sent = 0;
      let answered = 0;
      const inner = mw(async (a) => {
        sent = performance.now();
        try {
          return await next(a);
        } finally {
          answered = performance.now();
        }
      }, context);
      return async (a) => {
        const t0 = performance.now();
        try {
          return await inner(a);
        } finally {
          ms[part] += sent - t0 + (performance.now() - answered);
        }
      };
    };
    stack.add(timedMw as never, options as never);
  };
  apply({ add, identify: () => stack.identify(), remove: (name: string) => stack.remove(name) } as never);
  return {
    client: c,
    own: () => {
      const us = { metering: ms.metering * 1000, attempt: ms.attempt * 1000 };
      ms.metering = 0;
      ms.attempt = 0;
      return us;
    },
  };
}

/**
 * Whole calls with the plugin (its two entries timed) beside the bare client and two no-op
 * entries in the plugin's places (timed the same way): what the plugin adds, each entry's own
 * part, what the no-op entries add (the SDK's work per entry and the timers'), and the rest.
 */
async function split(): Promise<void> {
  const calls = smoke ? 3 : 20;
  const { finops } = builds[0]!.config.meteredPlugin('producer');
  const sides = [{ client: client(op.canned), own: () => ({ metering: 0, attempt: 0 }) }, timedEntries(addNoOps), timedEntries((stack) => finops.applyToStack(stack as never))];
  for (const side of sides) await timed(side.client, op, warmUp, true);
  const wall = sides.map((): number[] => []);
  const metering = sides.map((): number[] => []);
  const attempt = sides.map((): number[] => []);
  for (let r = 0; r < (smoke ? 1 : rounds * 10); r++)
    for (let k = 0; k < sides.length; k++) {
      const i = (r + k) % sides.length;
      const side = sides[i]!;
      side.own();
      wall[i]!.push((await timed(side.client, op, calls, true)).wall);
      const own = side.own();
      metering[i]!.push(own.metering / calls);
      attempt[i]!.push(own.attempt / calls);
    }
  const [bare, noOps, plugin] = wall.map(median) as [number, number, number];
  const [m, a] = [median(metering[2]!), median(attempt[2]!)];
  console.log(`${op.name}, scope per call, ${calls}-call blocks in turn after ${warmUp.toLocaleString('en-US')} calls each; wall-clock µs per call (median block):`);
  console.log(`  bare client ${fmt(bare)}   two timed no-op entries ${fmt(noOps)} (${signed(noOps - bare)})   the plugin, timed ${fmt(plugin)} (${signed(plugin - bare)}, ${fmt(plugin / bare, 3)}×)`);
  console.log(`  the plugin's own work: metering middleware ${fmt(m)}, per-attempt hook ${fmt(a)}   the rest beyond the no-op entries ${signed(plugin - noOps - m - a)}`);
}
