/**
 * One benchmark variant in a fresh process, so its code paths are not shared with another
 * variant's (no polymorphism, GC or async hooks carried over): Converse calls, one warm-up round,
 * then prints the median µs per call of 3 rounds, wall-clock and CPU time. `peer` installs the OTel instrumentation before
 * the SDK loads and checks it produced one span per call.
 * Usage: `node --import tsx bench/child.ts VARIANT CALLS`; the variants are listed in `fresh.ts`.
 */
import { installPeer } from './peer.js';
import { median } from './stats.js';

const variant = process.argv[2] ?? 'bare';
const calls = Number(process.argv[3] ?? 2000);

const peer = variant === 'peer' ? installPeer() : undefined;
peer?.enable();
// The SDK loads after the instrumentation's hooks (dynamic imports).
const { client, CONVERSE_OP, timed } = await import('./clients.js');
const { meteredPlugin } = await import('./plugin-config.js');
const metered = variant.startsWith('producer') ? meteredPlugin('producer') : variant.startsWith('default') ? meteredPlugin('instruments') : undefined;
const c = client(CONVERSE_OP.canned, metered?.finops);
const scoped = variant.endsWith('+scope');
// Rounds are timed in chunks: between them (untimed) the peer's span processor is flushed, as its
// timer would in a real app (a loop of back-to-back calls never yields to timers, so its queue
// would fill and drop spans).
const CHUNK = 500;
let spans = 0;
const rounds: { wall: number; cpu: number }[] = [];
for (let r = 0; r < 4; r++) {
  let wall = 0;
  let cpu = 0;
  for (let done = 0; done < calls; done += CHUNK) {
    const n = Math.min(CHUNK, calls - done);
    const us = await timed(c, CONVERSE_OP, n, scoped);
    wall += us.wall * n;
    cpu += us.cpu * n;
    spans += (await peer?.takeSpans()) ?? 0;
  }
  rounds.push({ wall: wall / calls, cpu: cpu / calls });
}
if (peer !== undefined && spans !== calls * 4) throw new Error(`the instrumented child ended ${spans} spans for ${calls * 4} calls`);
await metered?.finops.shutdown();
const measured = rounds.slice(1);
console.log(`${median(measured.map((m) => m.wall)).toFixed(2)} ${median(measured.map((m) => m.cpu)).toFixed(2)}`);
