/**
 * The plugin's own work per call, alone (its middleware around an in-process next()), in one
 * configuration — for profiling: `node --cpu-prof --import tsx bench/profile.ts producer`, then
 * `npx tsx bench/cpuprofile.ts CPU.*.cpuprofile` for the top self-time items.
 * Variants: `producer` (in-process histograms), `full` (SDK histogram instruments, the default),
 * `nohist`, `nobudget` (producer, no budget), `noscope` (producer, no per-call `withAttribution`).
 * A second argument sets the calls per block (15 blocks).
 */
import { aloneBlock, pluginHandler } from './middleware-alone.js';
import { meteredPlugin } from './plugin-config.js';
import { median } from './stats.js';

const variant = process.argv[2] ?? 'producer';
const n = Number(process.argv[3] ?? 20_000);
const mode = variant === 'full' ? 'instruments' : variant === 'nohist' ? 'off' : 'producer';
const { finops } = meteredPlugin(mode, { budget: variant !== 'nobudget' });
const handler = pluginHandler(finops);
const blocks: number[] = [];
for (let r = 0; r < 15; r++) blocks.push(await aloneBlock(handler, n, variant !== 'noscope'));
await finops.shutdown();
console.log(`${variant}: ${median(blocks).toFixed(2)} µs per call (median of 15 blocks of ${n})`);
