/**
 * One configuration in a loop, for profiling: `node --cpu-prof --import tsx bench/profile.ts producer`,
 * then `npx tsx bench/cpuprofile.ts CPU.*.cpuprofile 20 aloneBlock` for the top self-time items.
 *
 * The plugin's own work alone (its middleware around an in-process next()): `producer`
 * (in-process histograms), `full` (SDK histogram instruments, the default), `nohist`, `nobudget`
 * (producer, no budget), `noscope` (producer, no per-call `withAttribution`).
 * End to end, Converse through the SDK over the canned handler (profile from `timed`): `e2e-bare`,
 * `e2e-producer` (scope per call), `e2e-peer` (OTel's aws-sdk instrumentation).
 * A second argument sets the calls per block (15 blocks).
 */
import { installPeer } from './peer.js';
import { median } from './stats.js';

const variant = process.argv[2] ?? 'producer';
const blocks: number[] = [];
let label = '';
if (variant.startsWith('e2e-')) {
  const n = Number(process.argv[3] ?? 2_000);
  const peer = variant === 'e2e-peer' ? installPeer() : undefined;
  peer?.enable();
  // The SDK loads after the instrumentation's hooks.
  const { client, CONVERSE_OP, timed } = await import('./clients.js');
  const { meteredPlugin } = await import('./plugin-config.js');
  const metered = variant === 'e2e-producer' ? meteredPlugin('producer') : undefined;
  const c = client(CONVERSE_OP.canned, metered?.finops);
  for (let r = 0; r < 15; r++) blocks.push((await timed(c, CONVERSE_OP, n, metered !== undefined)).wall);
  await metered?.finops.shutdown();
  label = `${n} Converse calls`;
} else {
  const n = Number(process.argv[3] ?? 20_000);
  const { aloneBlock, pluginHandler } = await import('./middleware-alone.js');
  const { meteredPlugin } = await import('./plugin-config.js');
  const mode = variant === 'full' ? 'instruments' : variant === 'nohist' ? 'off' : 'producer';
  const { finops } = meteredPlugin(mode, { budget: variant !== 'nobudget' });
  const handler = pluginHandler(finops);
  for (let r = 0; r < 15; r++) blocks.push(await aloneBlock(handler, n, variant !== 'noscope'));
  await finops.shutdown();
  label = `${n} calls`;
}
console.log(`${variant}: ${median(blocks).toFixed(2)} µs per call (median of 15 blocks of ${label})`);
