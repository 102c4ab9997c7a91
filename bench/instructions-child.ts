/**
 * One side of the instruction count (`bench/instructions.ts`), run under cachegrind: a warm-up,
 * then `calls` more calls; the section subtracts a run of 0 calls from a run of `calls`.
 * Usage: instructions-child.ts <bare|entries|plugin> <warm-up> <calls>
 */
import { FINOPS_ATTEMPT_MIDDLEWARE, FINOPS_MIDDLEWARE } from '../src/index.js';
import { client, CONVERSE_OP, timed } from './clients.js';
import { meteredPlugin } from './plugin-config.js';

const [side = 'bare', warmArg = '0', callsArg = '0'] = process.argv.slice(2);
const c = side === 'plugin' ? client(CONVERSE_OP.canned, meteredPlugin('producer').finops) : client(CONVERSE_OP.canned);
if (side === 'entries') {
  // Two no-op middlewares where the plugin puts its two, with the plugin's own options.
  c.middlewareStack.add((next) => (args) => next(args), { ...FINOPS_MIDDLEWARE, name: 'noopMetering' });
  c.middlewareStack.add((next) => (args) => next(args), { ...FINOPS_ATTEMPT_MIDDLEWARE, name: 'noopAttempt' });
}
// Every side runs each call in its own attribution scope (as the overhead table's plugin side does):
// on Node 20 a scope turns on a hook for every promise, which the bare side must pay too.
await timed(c, CONVERSE_OP, Number(warmArg), true);
await timed(c, CONVERSE_OP, Number(callsArg), true);
