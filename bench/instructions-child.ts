/**
 * One side of the instruction count (`bench/instructions.ts`), run under cachegrind. Every side's
 * client is built and warmed alike (`warm-up` calls each, in interleaved blocks), then `calls`
 * more calls go through `side`; the section subtracts a run of 0 calls from a run of `calls`.
 * With every side loaded and warmed in every process, the SDK's code has been compiled the same
 * way before any side is counted: counts of one process alone differ by V8's one-off work (a
 * function compiled or re-optimized inside one side's counted window), not by the side.
 * Usage: instructions-child.ts <bare|entries|plainEntries|plugin|nobudget|minimal> <warm-up> <calls>
 */
import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { FINOPS_ATTEMPT_MIDDLEWARE, FINOPS_MIDDLEWARE } from '../src/index.js';
import { stackEntryOptions } from '../src/middleware.js';
import { client, CONVERSE_OP, timed } from './clients.js';
import { meteredPlugin } from './plugin-config.js';

const [side = 'bare', warmArg = '0', callsArg = '0'] = process.argv.slice(2);

/**
 * Two no-op middlewares where the plugin puts its two, with the plugin's own options: added as the
 * plugin adds its entries (`shaped`, with an empty before/after), or as a plain entry is.
 */
function withNoOps(c: BedrockRuntimeClient, shaped: boolean): BedrockRuntimeClient {
  const options = <O extends object>(o: O): O => (shaped ? stackEntryOptions(o) : o);
  c.middlewareStack.add((next) => (args) => next(args), options({ ...FINOPS_MIDDLEWARE, name: 'noopMetering' }));
  c.middlewareStack.add((next) => (args) => next(args), options({ ...FINOPS_ATTEMPT_MIDDLEWARE, name: 'noopAttempt' }));
  return c;
}

const clients: Record<string, BedrockRuntimeClient> = {
  bare: client(CONVERSE_OP.canned),
  entries: withNoOps(client(CONVERSE_OP.canned), true),
  plainEntries: withNoOps(client(CONVERSE_OP.canned), false),
  plugin: client(CONVERSE_OP.canned, meteredPlugin('producer').finops),
  nobudget: client(CONVERSE_OP.canned, meteredPlugin('producer', { budget: false }).finops),
  minimal: client(CONVERSE_OP.canned, meteredPlugin('off', { budget: false }).finops),
};
const counted = clients[side];
if (counted === undefined) throw new Error(`unknown side ${side}`);
// Every side runs each call in its own attribution scope (as the overhead table's plugin side does):
// on Node 20 a scope turns on a hook for every promise, which the bare side must pay too.
const warm = Number(warmArg);
const BLOCK = 50;
for (let done = 0; done < warm; done += BLOCK) for (const c of Object.values(clients)) await timed(c, CONVERSE_OP, Math.min(BLOCK, warm - done), true);
await timed(counted, CONVERSE_OP, Number(callsArg), true);
