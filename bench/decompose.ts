/**
 * Where the added cost per Converse call goes, in process: the plugin built up a part at a time
 * (no per-call scope, whose cost the other sections show), next to two no-op middlewares at the
 * plugin's places in the stack, and next to the plugin's middleware called alone right after a
 * bare call (its work with the caches the SDK left, but none of the SDK's stack around it).
 * Blocks rotate through the sides; CPU time, medians.
 */
import type { BedrockRuntimeClient, ServiceInputTypes as In, ServiceOutputTypes as Out } from '@aws-sdk/client-bedrock-runtime';
import type { FinalizeHandler, FinalizeHandlerArguments, InitializeHandler, InitializeHandlerArguments } from '@smithy/types';
import { client, CONVERSE_OP } from './clients.js';
import { ALONE_INPUT, pluginHandler } from './middleware-alone.js';
import { meteredPlugin } from './plugin-config.js';
import { fmt, median, signed } from './stats.js';

function withNoOps(c: BedrockRuntimeClient): BedrockRuntimeClient {
  // Shaped like the plugin's two: an async initialize middleware outermost, a finalizeRequest one inside the retries.
  c.middlewareStack.add((next: InitializeHandler<In, Out>) => async (args: InitializeHandlerArguments<In>) => await next(args), { name: 'benchNoOpInitialize', step: 'initialize', priority: 'high', override: true });
  c.middlewareStack.add(
    (next: FinalizeHandler<In, Out>) => (args: FinalizeHandlerArguments<In>) =>
      next(args).then(undefined, (error: unknown) => {
        throw error;
      }),
    { name: 'benchNoOpFinalize', step: 'finalizeRequest', priority: 'low', override: true },
  );
  return c;
}

export async function decompose(smoke: boolean): Promise<string[]> {
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
  const bareUs = median(cpu[0]!);
  return [
    `Converse, no per-call scope, ${rounds} rounds of ${calls}-call blocks per side in a rotating order; process CPU time per call, median block, and what each side adds to the bare client:`,
    '',
    '| Side | CPU µs per call | added |',
    '|---|---|---|',
    ...sides.map((s, i) => `| ${s.label} | ${fmt(median(cpu[i]!))} | ${i === 0 ? '' : signed(median(cpu[i]!) - bareUs)} |`),
  ];
}
