/**
 * One side of the instruction count (`bench/instructions.ts`), run under cachegrind: a warm-up,
 * then `calls` more calls; the section subtracts a run of 0 calls from a run of `calls`.
 * Usage: instructions-child.ts <bare|entries|plugin|nobudget|minimal> <warm-up> <calls>
 */
import { FINOPS_ATTEMPT_MIDDLEWARE, FINOPS_MIDDLEWARE } from '../src/index.js';
import { client, CONVERSE_OP, timed } from './clients.js';
import { meteredPlugin } from './plugin-config.js';

const [side = 'bare', warmArg = '0', callsArg = '0'] = process.argv.slice(2);
const plugins = {
  plugin: () => meteredPlugin('producer'),
  nobudget: () => meteredPlugin('producer', { budget: false }),
  minimal: () => meteredPlugin('off', { budget: false }),
} as const;
const make = side in plugins ? plugins[side as keyof typeof plugins] : undefined;
const c = make === undefined ? client(CONVERSE_OP.canned) : client(CONVERSE_OP.canned, make().finops);
if (side === 'entries') {
  // Two no-op middlewares where the plugin puts its two, with the plugin's own options.
  c.middlewareStack.add((next) => (args) => next(args), { ...FINOPS_MIDDLEWARE, name: 'noopMetering' });
  c.middlewareStack.add((next) => (args) => next(args), { ...FINOPS_ATTEMPT_MIDDLEWARE, name: 'noopAttempt' });
}
// Every side runs each call in its own attribution scope (as the overhead table's plugin side does):
// on Node 20 a scope turns on a hook for every promise, which the bare side must pay too.
await timed(c, CONVERSE_OP, Number(warmArg), true);
await timed(c, CONVERSE_OP, Number(callsArg), true);
