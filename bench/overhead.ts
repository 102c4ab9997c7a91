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
import { fmt, median, range } from './stats.js';

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
  readonly us: number;
  readonly ratio: number;
  readonly low: number;
  readonly high: number;
}
/** Per operation, per variant: µs per call (median block), ratio to bare (median round) and the rounds' range. */
export type OverheadSummary = Record<string, Partial<Record<VariantKey, Cell>>>;

interface Plan {
  readonly op: Operation;
  readonly block: number;
  readonly blocks: number;
  readonly rounds: number;
  readonly warmup: number;
  readonly target: number;
  readonly goal?: number;
}

function plans(smoke: boolean): Plan[] {
  const rounds = smoke ? 1 : 7;
  return [
    { op: CONVERSE_OP, block: smoke ? 10 : 50, blocks: smoke ? 2 : 16, rounds, warmup: smoke ? 20 : 500, target: 1.05, goal: 1.03 },
    { op: INVOKE_OP, block: smoke ? 10 : 50, blocks: smoke ? 2 : 16, rounds, warmup: smoke ? 20 : 500, target: 1.05, goal: 1.03 },
    { op: STREAM_OP, block: smoke ? 1 : 2, blocks: smoke ? 1 : 12, rounds, warmup: smoke ? 2 : 20, target: 1.02 },
  ];
}

export async function overhead(peer: Peer, smoke: boolean): Promise<{ lines: string[]; summary: OverheadSummary }> {
  const producer = meteredPlugin('producer');
  const instruments = meteredPlugin('instruments');
  const lines = [
    '| Operation | bare client | bedrock-finops, `genAiHistograms: \'producer\'` | bedrock-finops, default (`true`) | OTel instrumentation-aws-sdk 0.78 | target (`\'producer\'`) |',
    '|---|---|---|---|---|---|',
  ];
  const summary: OverheadSummary = {};
  const proof: string[] = [];
  for (const plan of plans(smoke)) {
    const variants: Variant[] = [
      { key: 'bare', label: 'bare', peer: false, scoped: false },
      { key: 'producer', label: "'producer'", metered: producer, peer: false, scoped: true },
      { key: 'instruments', label: 'default', metered: instruments, peer: false, scoped: true },
      { key: 'peer', label: 'peer', peer: true, scoped: false },
    ];
    // Each side has its own client: the peer's keeps its wrapped stack, the others never get one.
    const clients = new Map<VariantKey, BedrockRuntimeClient>(variants.map((v) => [v.key, client(plan.op.canned, v.metered?.finops)]));
    const before = { producer: await histogramCount(producer.reader, DURATION), instruments: await histogramCount(instruments.reader, DURATION), peer: await histogramCount(peer.reader, DURATION) };
    const calls = new Map<VariantKey, number>();
    let peerSpans = 0;
    const run = async (v: Variant, n: number): Promise<number> => {
      const c = clients.get(v.key)!;
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
    for (const v of variants) await run(v, plan.warmup);
    const blocks = new Map<VariantKey, number[]>(variants.map((v) => [v.key, []]));
    const ratios = new Map<VariantKey, number[]>(variants.map((v) => [v.key, []]));
    for (let r = 0; r < plan.rounds; r++) {
      const round = new Map<VariantKey, number[]>(variants.map((v) => [v.key, []]));
      for (let b = 0; b < plan.blocks; b++)
        for (let i = 0; i < variants.length; i++) {
          const v = variants[(b + r + i) % variants.length]!;
          round.get(v.key)!.push(await run(v, plan.block));
        }
      const bare = median(round.get('bare')!);
      for (const v of variants) {
        blocks.get(v.key)!.push(...round.get(v.key)!);
        ratios.get(v.key)!.push(median(round.get(v.key)!) / bare);
      }
    }
    const cells: Partial<Record<VariantKey, Cell>> = {};
    for (const v of variants) {
      const rs = ratios.get(v.key)!;
      cells[v.key] = { us: median(blocks.get(v.key)!), ratio: median(rs), low: Math.min(...rs), high: Math.max(...rs) };
    }
    summary[plan.op.name] = cells;
    const bareUs = cells.bare!.us;
    const cell = (k: VariantKey): string => {
      const c = cells[k]!;
      return `${fmt(c.us)} µs (+${fmt(c.us - bareUs)}) · **${fmt(c.ratio, 3)}×** (${range(ratios.get(k)!, 3)})`;
    };
    const p = cells.producer!.ratio;
    const verdict = p <= (plan.goal ?? plan.target) ? 'met' + (plan.goal === undefined ? '' : ', goal too') : p <= plan.target ? 'met (goal not)' : '**not met**';
    lines.push(`| ${plan.op.name} | ${fmt(bareUs)} µs | ${cell('producer')} | ${cell('instruments')} | ${cell('peer')} | ≤ ${plan.target}×${plan.goal === undefined ? '' : ` (goal ${plan.goal}×)`}: ${verdict} |`);
    // The plugin recorded one operation duration per call through each reader; the peer as it does.
    const recorded = { producer: (await histogramCount(producer.reader, DURATION)) - before.producer, instruments: (await histogramCount(instruments.reader, DURATION)) - before.instruments, peer: (await histogramCount(peer.reader, DURATION)) - before.peer };
    for (const k of ['producer', 'instruments'] as const)
      if (recorded[k] !== calls.get(k)) throw new Error(`${plan.op.name}: the ${k} plugin recorded ${recorded[k]} calls of ${calls.get(k)}`);
    proof.push(`${plan.op.name}: ${calls.get('bare')!.toLocaleString('en-US')} calls per side; the peer's blocks ended ${peerSpans.toLocaleString('en-US')} spans and recorded ${recorded.peer.toLocaleString('en-US')} \`${DURATION}\`, the plugin recorded ${recorded.producer.toLocaleString('en-US')} (\`'producer'\`, read through \`finops.metricProducer\`) and ${recorded.instruments.toLocaleString('en-US')} (default)`);
  }
  await producer.finops.shutdown();
  await instruments.finops.shutdown();
  const first = plans(smoke)[0]!;
  lines.push(
    '',
    `Each cell: µs per call (median block), added µs, and the ratio to the bare client (median of ${first.rounds} rounds, their range in brackets). A round is ${first.blocks} blocks per side (${first.block} calls each; streams ${plans(smoke)[2]!.block}), interleaved in a rotating order, after a warm-up. Every call creates its command, as an app does.`,
    '',
    "- **bedrock-finops**: attribution scope per call (`withAttribution`, one of 100 tenants), an SDK `MeterProvider` with a reader (`finops.metricProducer` registered on it in `'producer'` mode), the bundled pricing, one budget on the in-memory store.",
    '- **OTel instrumentation-aws-sdk 0.78** (the newest that runs on Node 20; 0.79 needs Node ≥ 22.15 and has the same Bedrock logic): tracing through a `BatchSpanProcessor` into an in-memory exporter, its GenAI metrics on an SDK `MeterProvider` (it records them for Converse and ConverseStream, not InvokeModel), the `AsyncLocalStorage` context manager. Enabled around its own blocks only.',
    `- Checked, not assumed: every block's spans were counted (bare and plugin blocks 0, the peer's one per call) and each plugin's records were counted through its reader. ${proof.join('. ')}.`,
  );
  return { lines, summary };
}
