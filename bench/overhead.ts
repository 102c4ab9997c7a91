/**
 * Per-call overhead next to the peer, in one process and one harness: the bare client, the plugin
 * in its full configuration (recommended `'producer'` histograms, and the default SDK
 * instruments), and OpenTelemetry's aws-sdk instrumentation. Several rounds; in each, blocks of
 * calls interleaved in a rotating order so drift and GC hit every side alike; a round's ratio is
 * its median block over the bare client's median block.
 */
import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { client, CONVERSE_OP, INVOKE_OP, STREAM_OP, timed, type Operation } from './clients.js';
import type { Peer } from './peer.js';
import { histogramCount, meteredPlugin, type Metered } from './plugin-config.js';
import { fmt, median, signed } from './stats.js';

const DURATION = 'gen_ai.client.operation.duration';

interface Variant {
  readonly key: VariantKey;
  readonly label: string;
  readonly metered?: Metered;
  readonly peer: boolean;
  readonly scoped: boolean;
}
export type VariantKey = 'bare' | 'producer' | 'instruments' | 'peer';
export interface Cell {
  /** Wall-clock µs per call, median block. */
  readonly us: number;
  /** Wall-clock ratio to bare: the median round's, and the lowest and highest round's. */
  readonly ratio: number;
  readonly low: number;
  readonly high: number;
  /** The same ratio in process CPU time. */
  readonly cpuRatio: number;
  readonly cpuLow: number;
  readonly cpuHigh: number;
}
/** Per operation, per variant. */
export type OverheadSummary = Record<string, Partial<Record<VariantKey, Cell>>>;

/** One process's measurement: its cells, and what was checked (spans and records counted per block). */
export interface OverheadRun {
  readonly summary: OverheadSummary;
  readonly proof: readonly string[];
  readonly rounds: number;
}

const LABELS: Record<VariantKey, string> = {
  bare: 'bare client',
  producer: "bedrock-finops, `genAiHistograms: 'producer'`",
  instruments: 'bedrock-finops, default (`true`)',
  peer: 'OTel instrumentation-aws-sdk 0.78',
};

interface Plan {
  readonly op: Operation;
  readonly block: number;
  readonly blocks: number;
  readonly rounds: number;
  readonly warmup: number;
  readonly target: number;
  readonly goal?: number;
}

// Calls per side before timing. Here the SDK's code and the plugin's keep getting faster for
// ~10,000 calls (V8 re-optimizing; the budget's counters outgrowing small integers near 7,000):
// the plugin's work in place costs 2–5× its steady state over calls 500–6,000, the bare call
// 1.3–1.8× (`bench/ab.ts <checkout> --cold` times the plugin's part call by call).
const WARMUP = 10_000;

function plans(smoke: boolean, rounds = smoke ? 1 : 15): Plan[] {
  return [
    { op: CONVERSE_OP, block: smoke ? 10 : 50, blocks: smoke ? 2 : 16, rounds, warmup: smoke ? 20 : WARMUP, target: 1.05, goal: 1.03 },
    { op: INVOKE_OP, block: smoke ? 10 : 50, blocks: smoke ? 2 : 16, rounds, warmup: smoke ? 20 : WARMUP, target: 1.05, goal: 1.03 },
    { op: STREAM_OP, block: smoke ? 1 : 2, blocks: smoke ? 1 : 12, rounds, warmup: smoke ? 2 : 20, target: 1.02 },
  ];
}

/** The sides measured in this process, `rounds` rounds per operation. */
export async function overhead(peer: Peer, smoke: boolean, rounds?: number): Promise<OverheadRun> {
  const producer = meteredPlugin('producer');
  const instruments = meteredPlugin('instruments');
  const summary: OverheadSummary = {};
  const proof: string[] = [];
  const planned = plans(smoke, rounds);
  for (const plan of planned) {
    const variants: Variant[] = [
      { key: 'bare', label: 'bare', peer: false, scoped: false },
      { key: 'producer', label: "bedrock-finops, `genAiHistograms: 'producer'`", metered: producer, peer: false, scoped: true },
      { key: 'instruments', label: 'bedrock-finops, default (`true`)', metered: instruments, peer: false, scoped: true },
      { key: 'peer', label: 'OTel instrumentation-aws-sdk 0.78', peer: true, scoped: false },
    ];
    // The bare client and the plugin's sides share one client, the plugin applied to it for its
    // own blocks and removed after (separate clients differ by up to ±8% per process, bare against
    // bare, which would drown the difference measured). The peer has its own client: once it has
    // wrapped a client's stack, the stack stays wrapped.
    const shared = client(plan.op.canned);
    const peerClient = client(plan.op.canned);
    const onShared = (v: Variant): BedrockRuntimeClient => {
      shared.middlewareStack.removeByTag('BEDROCK_FINOPS');
      if (v.metered !== undefined) shared.middlewareStack.use(v.metered.finops);
      return shared;
    };
    const before = { producer: await histogramCount(producer.reader, DURATION), instruments: await histogramCount(instruments.reader, DURATION), peer: await histogramCount(peer.reader, DURATION) };
    const calls = new Map<VariantKey, number>();
    let peerSpans = 0;
    const run = async (v: Variant, n: number): Promise<{ wall: number; cpu: number }> => {
      const c = v.peer ? peerClient : onShared(v);
      if (v.peer) peer.enable();
      const us = await timed(c, plan.op, n, v.scoped);
      if (v.peer) peer.disable();
      // Proof of what was measured: only the peer's blocks produce spans, one per call.
      const spans = await peer.takeSpans();
      if (spans !== (v.peer ? n : 0)) throw new Error(`${plan.op.name}: a ${v.label} block of ${n} calls produced ${spans} spans`);
      if (v.peer) peerSpans += spans;
      calls.set(v.key, (calls.get(v.key) ?? 0) + n);
      return us;
    };
    // In blocks, the sides in turn: the peer's span processor queues at most 2,048 spans between exports.
    for (let done = 0; done < plan.warmup; done += plan.block) for (const v of variants) await run(v, Math.min(plan.block, plan.warmup - done));
    const wall = new Map<VariantKey, number[]>(variants.map((v) => [v.key, []]));
    const ratios = new Map<VariantKey, { wall: number[]; cpu: number[] }>(variants.map((v) => [v.key, { wall: [], cpu: [] }]));
    for (let r = 0; r < plan.rounds; r++) {
      const round = new Map<VariantKey, { wall: number[]; cpu: number[] }>(variants.map((v) => [v.key, { wall: [], cpu: [] }]));
      for (let b = 0; b < plan.blocks; b++)
        for (let i = 0; i < variants.length; i++) {
          const v = variants[(b + r + i) % variants.length]!;
          const us = await run(v, plan.block);
          round.get(v.key)!.wall.push(us.wall);
          round.get(v.key)!.cpu.push(us.cpu);
        }
      const bare = round.get('bare')!;
      for (const v of variants) {
        const mine = round.get(v.key)!;
        wall.get(v.key)!.push(...mine.wall);
        ratios.get(v.key)!.wall.push(median(mine.wall) / median(bare.wall));
        ratios.get(v.key)!.cpu.push(median(mine.cpu) / median(bare.cpu));
      }
    }
    const cells: Partial<Record<VariantKey, Cell>> = {};
    for (const v of variants) {
      const rs = ratios.get(v.key)!;
      cells[v.key] = { us: median(wall.get(v.key)!), ratio: median(rs.wall), low: Math.min(...rs.wall), high: Math.max(...rs.wall), cpuRatio: median(rs.cpu), cpuLow: Math.min(...rs.cpu), cpuHigh: Math.max(...rs.cpu) };
    }
    summary[plan.op.name] = cells;
    // The plugin recorded one operation duration per call through each reader; the peer as it does.
    const recorded = { producer: (await histogramCount(producer.reader, DURATION)) - before.producer, instruments: (await histogramCount(instruments.reader, DURATION)) - before.instruments, peer: (await histogramCount(peer.reader, DURATION)) - before.peer };
    for (const k of ['producer', 'instruments'] as const)
      if (recorded[k] !== calls.get(k)) throw new Error(`${plan.op.name}: the ${k} plugin recorded ${recorded[k]} calls of ${calls.get(k)}`);
    proof.push(`${plan.op.name}: ${calls.get('bare')!.toLocaleString('en-US')} calls per side; the peer's blocks ended ${peerSpans.toLocaleString('en-US')} spans and recorded ${recorded.peer.toLocaleString('en-US')} \`${DURATION}\`, the plugin recorded ${recorded.producer.toLocaleString('en-US')} (\`'producer'\`, read through \`finops.metricProducer\`) and ${recorded.instruments.toLocaleString('en-US')} (default)`);
  }
  await producer.finops.shutdown();
  await instruments.finops.shutdown();
  return { summary, proof, rounds: planned[0]?.rounds ?? 0 };
}

/**
 * The table: each cell over the processes measured (one or more runs of {@link overhead}, each
 * in its own process): the median process's ratio, the lowest and highest process's in brackets.
 * A process's ratio is already the median of its rounds; processes differ more than rounds do
 * (code layout, JIT decisions), so the median of several is what a single run should be read as.
 */
export function overheadTable(runs: readonly OverheadRun[], smoke: boolean): { lines: string[]; summary: OverheadSummary } {
  const lines = ['| Operation | Side | µs per call | added µs | ratio, wall time | ratio, CPU time | target |', '|---|---|---|---|---|---|---|'];
  const summary: OverheadSummary = {};
  const planned = plans(smoke, runs[0]?.rounds);
  for (const plan of planned) {
    const cells: Partial<Record<VariantKey, Cell>> = {};
    for (const key of Object.keys(LABELS) as VariantKey[]) {
      const per = runs.map((r) => r.summary[plan.op.name]?.[key]).filter((c): c is Cell => c !== undefined);
      if (per.length === 0) continue;
      const ratios = per.map((c) => c.ratio);
      const cpu = per.map((c) => c.cpuRatio);
      // One process: its rounds' range; several: the processes' range.
      const one = per.length === 1 ? per[0] : undefined;
      cells[key] = {
        us: median(per.map((c) => c.us)),
        ratio: median(ratios),
        low: one?.low ?? Math.min(...ratios),
        high: one?.high ?? Math.max(...ratios),
        cpuRatio: median(cpu),
        cpuLow: one?.cpuLow ?? Math.min(...cpu),
        cpuHigh: one?.cpuHigh ?? Math.max(...cpu),
      };
    }
    summary[plan.op.name] = cells;
    const bareUs = cells.bare?.us ?? Number.NaN;
    const p = cells.producer?.ratio ?? Number.NaN;
    const verdict = p <= (plan.goal ?? plan.target) ? 'met' + (plan.goal === undefined ? '' : ', goal too') : p <= plan.target ? 'met (goal not)' : '**not met**';
    const target = `≤ ${plan.target}×${plan.goal === undefined ? '' : ` (goal ${plan.goal}×)`}: ${verdict}`;
    lines.push(`| ${plan.op.name} | bare client | ${fmt(bareUs)} | | | | |`);
    for (const key of ['producer', 'instruments', 'peer'] as const) {
      const c = cells[key];
      if (c === undefined) continue;
      lines.push(`| | ${LABELS[key]} | ${fmt(c.us)} | ${signed(c.us - bareUs)} | **${fmt(c.ratio, 3)}×** (${fmt(c.low, 3)}–${fmt(c.high, 3)}) | ${fmt(c.cpuRatio, 3)}× (${fmt(c.cpuLow, 3)}–${fmt(c.cpuHigh, 3)}) | ${key === 'producer' ? target : ''} |`);
    }
  }
  const first = planned[0]!;
  const across =
    runs.length === 1
      ? `the median of ${first.rounds} rounds, the lowest and highest round in brackets`
      : `the median of ${runs.length} processes, the lowest and highest process in brackets; a process's ratio is the median of its ${first.rounds} rounds`;
  lines.push(
    '',
    `µs per call: wall-clock, median block${runs.length === 1 ? '' : ' (median process)'}. Ratios to the bare client: ${across}; each round's ratio is its median block over the bare client's, in wall-clock time and in process CPU time (which leaves out waiting for a core). A round is ${first.blocks} blocks per side (${first.block} calls each; streams ${planned[2]!.block}), interleaved in a rotating order, after a warm-up of ${first.warmup.toLocaleString('en-US')} calls per side (streams ${planned[2]!.warmup}: V8 keeps optimizing the SDK's code and the plugin's for thousands of calls). Every call creates its command, as an app does.`,
    '',
    "- **bedrock-finops**: attribution scope per call (`withAttribution`, one of 100 tenants), an SDK `MeterProvider` with a reader (`finops.metricProducer` registered on it in `'producer'` mode), the bundled pricing, one budget on the in-memory store.",
    '- **OTel instrumentation-aws-sdk 0.78** (the newest that runs on Node 20; 0.79 needs Node ≥ 22.15 and has the same Bedrock logic): tracing through a `BatchSpanProcessor` into an in-memory exporter, its GenAI metrics on an SDK `MeterProvider` (it records them for Converse and ConverseStream, not InvokeModel), the `AsyncLocalStorage` context manager. Enabled around its own blocks only.',
    `- Checked, not assumed: every block's spans were counted (bare and plugin blocks 0, the peer's one per call) and each plugin's records were counted through its reader${runs.length === 1 ? '' : ' (in every process; the first one\'s counts)'}. ${runs[0]?.proof.join('. ') ?? ''}.`,
  );
  return { lines, summary };
}
