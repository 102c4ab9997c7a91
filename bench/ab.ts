/**
 * Two builds of the plugin in one process: this checkout and another (a git worktree of a
 * change), each in its full configuration, next to the bare client and to this checkout once
 * more (the control: what the two copies of one build differ by is the noise). Blocks rotate
 * through the sides; CPU time, medians over rounds.
 *
 * One process, because the SDK's code is then one and the same for every side: a change is
 * judged by what it does to the call, not by where V8's tiering of the SDK happened to land in
 * another process (two cachegrind runs of builds differing by one `Object.freeze` differed by
 * 43,000 instructions per call, spread over SDK code and V8's slow paths; this comparison put
 * the two builds between its two copies of one).
 *
 * Usage: `node --import tsx bench/ab.ts <other checkout> [--op=invoke] [--rounds=15]`. The other
 * checkout must resolve the same packages (`ln -s "$PWD/node_modules" <other>/node_modules`).
 * `--smoke` runs a few calls per side (the test keeps it from rotting; no timing is asserted).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { client, CONVERSE_OP, INVOKE_OP, timed } from './clients.js';
import { meteredPlugin } from './plugin-config.js';
import { fmt, median } from './stats.js';

const args = process.argv.slice(2);
const other = args.find((a) => !a.startsWith('--'));
const flag = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const config = other === undefined ? undefined : resolve(other, 'bench/plugin-config.ts');
if (config === undefined || !existsSync(config)) {
  console.error('usage: node --import tsx bench/ab.ts <other checkout> [--op=invoke] [--rounds=15]');
  process.exit(2);
}
const op = flag('op') === 'invoke' ? INVOKE_OP : CONVERSE_OP;
const smoke = args.includes('--smoke');
const rounds = smoke ? 1 : Number(flag('rounds') ?? 15);
const [warmUp, blocks, calls] = smoke ? [5, 2, 5] : [1_500, 16, 50];
const theirs = (await import(pathToFileURL(config).href)) as typeof import('./plugin-config.js');

const sides = [
  { label: 'bare client', client: client(op.canned) },
  { label: 'this checkout', client: client(op.canned, meteredPlugin('producer').finops) },
  { label: `the other (${other})`, client: client(op.canned, theirs.meteredPlugin('producer').finops) },
  { label: 'this checkout again (the control)', client: client(op.canned, meteredPlugin('producer').finops) },
];
for (const side of sides) await timed(side.client, op, warmUp, true);
const ratios = sides.map((): number[] => []);
for (let r = 0; r < rounds; r++) {
  const cpu = sides.map((): number[] => []);
  for (let b = 0; b < blocks; b++)
    for (let k = 0; k < sides.length; k++) {
      const i = (b + k + r) % sides.length;
      cpu[i]!.push((await timed(sides[i]!.client, op, calls, true)).cpu);
    }
  const bare = median(cpu[0]!);
  sides.forEach((_, i) => ratios[i]!.push(median(cpu[i]!) / bare));
}
console.log(`${op.name}, scope per call, ${rounds} rounds of ${blocks} × ${calls}-call blocks per side; CPU time per call against the bare client (median round):`);
for (const [i, side] of sides.entries()) console.log(`  ${side.label.padEnd(40)} ${fmt(median(ratios[i]!), 3)}×`);
