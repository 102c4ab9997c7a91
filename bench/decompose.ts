/**
 * Where the added cost per Converse call goes, in process: the plugin built up a part at a time
 * (no per-call scope, whose cost the other sections show), next to two no-op middlewares at the
 * plugin's places in the stack, and next to the plugin's middleware called alone right after a
 * bare call (its work with the caches the SDK left, but none of the SDK's stack around it), and
 * next to a yardstick: a bare call, then 64 KiB of memory read a line at a time.
 * Blocks rotate through the sides; CPU time, medians.
 */
import { stackEntryOptions } from '../src/middleware.js';
import type { BedrockRuntimeClient, ServiceInputTypes as In, ServiceOutputTypes as Out } from '@aws-sdk/client-bedrock-runtime';
import type { FinalizeHandler, FinalizeHandlerArguments, InitializeHandler, InitializeHandlerArguments, InitializeMiddleware } from '@smithy/types';
import { client, CONVERSE_OP } from './clients.js';
import { ALONE_INPUT, pluginHandler } from './middleware-alone.js';
import { meteredPlugin } from './plugin-config.js';
import { promiseCounts, promiseLines, type PromiseCount } from './promises.js';
import { fmt, median, signed } from './stats.js';

/** Two no-op middlewares where the plugin puts its two, shaped like them: an async initialize middleware outermost, a finalizeRequest one inside the retries, added as the plugin adds its own. */
export function addNoOps(stack: Pick<BedrockRuntimeClient['middlewareStack'], 'add'>): void {
  stack.add(
    (next: InitializeHandler<In, Out>) => (args: InitializeHandlerArguments<In>) => next(args).then((r) => r),
    stackEntryOptions({ name: 'benchNoOpInitialize', step: 'initialize', priority: 'high', override: true } as const),
  );
  stack.add(
    (next: FinalizeHandler<In, Out>) => (args: FinalizeHandlerArguments<In>) =>
      next(args).then(undefined, (error: unknown) => {
        throw error;
      }),
    stackEntryOptions({ name: 'benchNoOpFinalize', step: 'finalizeRequest', priority: 'low', override: true } as const),
  );
}

function withNoOps(c: BedrockRuntimeClient): BedrockRuntimeClient {
  addNoOps(c.middlewareStack);
  return c;
}

/** The yardstick side's memory: read a line at a time after each bare call, as a plugin's data (or code) is brought back after the SDK's call evicted it. */
const FOOTPRINT_KIB = 64;
const footprint = new Int32Array((FOOTPRINT_KIB * 1024) / 4).map((_, i) => i);
/** The lines' sum, returned so the loads cannot be dropped. */
function readFootprint(): number {
  let sum = 0;
  for (let i = 0; i < footprint.length; i += 16) sum += footprint[i] as number;
  return sum;
}

/** One process's measurement: each side's median CPU µs per call, and the handler-chain build cost. */
export interface DecomposeRun {
  readonly sides: readonly { readonly label: string; readonly cpu: number }[];
  readonly chain: { readonly bare: number; readonly plugin: number; readonly third: number; readonly rounds: number; readonly calls: number };
  readonly rounds: number;
  readonly calls: number;
  readonly promises: readonly PromiseCount[];
}

export async function decompose(smoke: boolean): Promise<DecomposeRun> {
  const plain = meteredPlugin('off', { budget: false });
  const budgeted = meteredPlugin('off');
  const full = meteredPlugin('producer');
  const afterBare = meteredPlugin('producer');
  const handler = pluginHandler(afterBare.finops);
  const bare = client(CONVERSE_OP.canned);
  const clients = {
    noOps: withNoOps(client(CONVERSE_OP.canned)),
    plain: client(CONVERSE_OP.canned, plain.finops),
    budgeted: client(CONVERSE_OP.canned, budgeted.finops),
    full: client(CONVERSE_OP.canned, full.finops),
  };
  const sides = [
    { label: 'bare client', call: () => CONVERSE_OP.send(bare) },
    { label: 'two no-op middlewares where the plugin puts its two', call: () => CONVERSE_OP.send(clients.noOps) },
    { label: 'plugin: attribution, pricing, record, counters (`genAiHistograms: false`, no budget)', call: () => CONVERSE_OP.send(clients.plain) },
    { label: '… and one budget on the in-memory store', call: () => CONVERSE_OP.send(clients.budgeted) },
    { label: "… and the GenAI histograms (`'producer'`): the full configuration", call: () => CONVERSE_OP.send(clients.full) },
    {
      label: "a bare call, then the full configuration's middleware alone (no SDK around it)",
      call: async () => {
        await CONVERSE_OP.send(bare);
        await handler({ input: ALONE_INPUT });
      },
    },
    {
      label: '… and the middleware alone a second time, right after the first (its code and data still in the caches)',
      call: async () => {
        await CONVERSE_OP.send(bare);
        await handler({ input: ALONE_INPUT });
        await handler({ input: ALONE_INPUT });
      },
    },
    {
      label: `a bare call, then reading ${FOOTPRINT_KIB} KiB of memory, one load per 64-byte line (a yardstick: what bringing back that much costs here)`,
      call: async () => {
        await CONVERSE_OP.send(bare);
        return readFootprint();
      },
    },
  ];
  const calls = smoke ? 5 : 50;
  const rounds = smoke ? 2 : 100;
  const cpu = sides.map((): number[] => []);
  for (const side of sides) for (let i = 0; i < (smoke ? 5 : 500); i++) await side.call();
  for (let r = 0; r < rounds; r++)
    for (let i = 0; i < sides.length; i++) {
      const at = (r + i) % sides.length;
      const start = process.cpuUsage();
      for (let j = 0; j < calls; j++) await sides[at]!.call();
      const used = process.cpuUsage(start);
      cpu[at]!.push((used.user + used.system) / calls);
    }
  await Promise.all([plain, budgeted, full, afterBare].map((m) => m.finops.shutdown()));
  const chain = await handlerChain(smoke);
  const promises = await promiseCounts(smoke);
  return { sides: sides.map((side, i) => ({ label: side.label, cpu: median(cpu[i]!) })), chain, rounds, calls, promises };
}

/** The table over one or more processes: per side, the median process's CPU µs and the median (and range) of what it adds to its process's bare client. */
export function decomposeTable(runs: readonly DecomposeRun[]): string[] {
  const first = runs[0];
  if (first === undefined) return [];
  const added = (i: number): number[] => runs.map((r) => (r.sides[i]?.cpu ?? Number.NaN) - (r.sides[0]?.cpu ?? Number.NaN));
  const several = runs.length > 1;
  const chain = (k: 'bare' | 'plugin' | 'third'): number => median(runs.map((r) => r.chain[k]));
  return [
    `Converse, no per-call scope, ${first.rounds} rounds of ${first.calls}-call blocks per side in a rotating order${several ? `, in each of ${runs.length} processes` : ''}; process CPU time per call, median block${several ? ' (median process)' : ''}, and what each side adds to the bare client${several ? ' (the median of the processes, their lowest and highest in brackets)' : ''}:`,
    '',
    '| Side | CPU µs per call | added |',
    '|---|---|---|',
    ...first.sides.map((side, i) => {
      const a = added(i);
      return `| ${side.label} | ${fmt(median(runs.map((r) => r.sides[i]?.cpu ?? Number.NaN)))} | ${i === 0 ? '' : `${signed(median(a))}${several ? ` (${signed(Math.min(...a))} to ${signed(Math.max(...a))})` : ''}`} |`;
    }),
    '',
    ...coldAndWarm(runs, added),
    `Building the handler chain (the SDK's \`resolveMiddleware\`, which every call runs: it clones, sorts and wraps every stack entry), CPU µs per call, ${first.chain.rounds} rounds of ${first.chain.calls.toLocaleString('en-US')} on one client with and without the plugin${several ? ' (median process)' : ''}: bare ${fmt(chain('bare'), 2)}, with the plugin's two entries ${fmt(chain('plugin'), 2)} (${signed(chain('plugin') - chain('bare'))}), with one more no-op entry ${fmt(chain('third'), 2)} (${signed(chain('third') - chain('plugin'))}). Stack entries cost every call before any middleware runs (the SDK builds the chain per call), which is why the plugin keeps to two.`,
  ];
}

/**
 * The middleware alone right after a bare call, and once more right after that: the first run
 * finds its code and data evicted by the SDK's call, the second finds them warm.
 */
function coldAndWarm(runs: readonly DecomposeRun[], added: (i: number) => number[]): string[] {
  const labels = runs[0]?.sides.map((s) => s.label) ?? [];
  const once = labels.findIndex((l) => l.startsWith("a bare call, then the full configuration's middleware"));
  const twice = labels.findIndex((l) => l.startsWith('… and the middleware alone a second time'));
  if (once < 0 || twice < 0) return [];
  const cold = median(added(once));
  const warm = median(runs.map((r) => (r.sides[twice]?.cpu ?? Number.NaN) - (r.sides[once]?.cpu ?? Number.NaN)));
  const read = labels.findIndex((l) => l.startsWith('a bare call, then reading'));
  const lines = (FOOTPRINT_KIB * 1024) / 64;
  const yardstick = read < 0 ? [] : [` For scale: reading ${FOOTPRINT_KIB} KiB of memory after a bare call (${lines.toLocaleString('en-US')} loads) adds ${signed(median(added(read)))} µs here, i.e. every 64-byte line of code or data a call touches costs about ${fmt((median(added(read)) * 1000) / lines, 0)} ns when the SDK's call has evicted it.`];
  return [
    `The middleware alone adds ${signed(cold)} µs right after the SDK's call, and ${signed(warm)} µs more when run again at once, its code and data still in the CPU's caches (medians of the processes; the difference is what bringing them back costs, where the SDK's call evicted them).${yardstick.join('')}`,
    '',
    ...promiseLines(runs[0]?.promises ?? []),
    '',
  ];
}

/** What the SDK spends per call building the handler chain, bare and with the plugin's entries (and one more entry). */
async function handlerChain(smoke: boolean): Promise<{ bare: number; plugin: number; third: number; rounds: number; calls: number }> {
  const { ConverseCommand } = await import('@aws-sdk/client-bedrock-runtime');
  const metered = meteredPlugin('producer');
  const c = client(CONVERSE_OP.canned);
  const calls = smoke ? 100 : 5_000;
  const rounds = smoke ? 2 : 15;
  const input = { modelId: 'us.anthropic.claude-3-5-haiku-20241022-v1:0', messages: [{ role: 'user' as const, content: [{ text: 'hi' }] }] };
  const time = (): number => {
    const start = process.cpuUsage();
    for (let i = 0; i < calls; i++) new ConverseCommand(input).resolveMiddleware(c.middlewareStack, c.config, undefined);
    const used = process.cpuUsage(start);
    return (used.user + used.system) / calls;
  };
  const noOp: InitializeMiddleware<In, Out> = (next) => next;
  const setups = [
    () => undefined,
    () => c.middlewareStack.use(metered.finops),
    () => {
      c.middlewareStack.use(metered.finops);
      c.middlewareStack.add(noOp, { name: 'benchThirdEntry', step: 'initialize', tags: ['BEDROCK_FINOPS'], override: true });
    },
  ];
  const samples: number[][] = [[], [], []];
  // Round -1 warms every side up and is not counted; the order rotates each round.
  for (let r = -1; r < rounds; r++)
    for (let i = 0; i < setups.length; i++) {
      const at = (r + 1 + i) % setups.length;
      c.middlewareStack.removeByTag('BEDROCK_FINOPS');
      setups[at]!();
      const us = time();
      if (r >= 0) samples[at]!.push(us);
    }
  const sides = { bare: samples[0]!, plugin: samples[1]!, third: samples[2]! };
  await metered.finops.shutdown();
  return { bare: median(sides.bare), plugin: median(sides.plugin), third: median(sides.third), rounds, calls };
}
