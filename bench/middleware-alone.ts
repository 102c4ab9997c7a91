/**
 * The plugin's own work without the SDK around it: its metering middleware wrapped around an
 * in-process `next()` that answers like Converse. What remains is the plugin's per-call cost.
 */
import type { HandlerExecutionContext } from '@smithy/types';
import { withAttribution, type BedrockFinOps } from '../src/index.js';
import { FINOPS_MIDDLEWARE } from '../src/middleware.js';

type Handler = (args: { input: unknown }) => Promise<unknown>;

const OUTPUT = { output: { usage: { inputTokens: 120, outputTokens: 48, totalTokens: 168 }, $metadata: {} }, response: { statusCode: 200, headers: {} } };
const CONTEXT = { commandName: 'ConverseCommand', endpointV2: { url: new URL('https://bedrock-runtime.us-east-1.amazonaws.com') } } as unknown as HandlerExecutionContext;
const messages = [{ role: 'user' as const, content: [{ text: 'Summarize the quarterly report in three bullet points.' }] }];
export const ALONE_INPUT = { modelId: 'us.anthropic.claude-3-5-haiku-20241022-v1:0', messages, inferenceConfig: { maxTokens: 256 } };

/** The plugin's metering middleware around an in-process `next()` (by default one that answers at once; `next` replaces it and is answered `OUTPUT`). */
export function pluginHandler(finops: BedrockFinOps, next?: () => Promise<void>): Handler {
  let mw: ((next: Handler, ctx: HandlerExecutionContext) => Handler) | undefined;
  finops.applyToStack({
    add: (m: typeof mw, o: { name: string }) => {
      if (o.name === FINOPS_MIDDLEWARE.name) mw = m;
    },
    identify: () => [],
  } as never);
  if (mw === undefined) throw new Error('the plugin added no metering middleware');
  return mw(next === undefined ? () => Promise.resolve(OUTPUT) : () => next().then(() => OUTPUT), CONTEXT);
}

/** µs per call over `calls` calls of `handler`; `scoped` runs each in its own attribution scope (one of 100 tenants). */
export async function aloneBlock(handler: Handler, calls: number, scoped: boolean, input: unknown = ALONE_INPUT): Promise<number> {
  return (await aloneTimed(handler, calls, scoped, input)).wall;
}

/** {@link aloneBlock} in wall-clock and process CPU time. */
export async function aloneTimed(handler: Handler, calls: number, scoped: boolean, input: unknown = ALONE_INPUT): Promise<{ wall: number; cpu: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) {
    if (scoped) await withAttribution({ feature: 'bench', tenant: `t${i % 100}` }, () => handler({ input }));
    else await handler({ input });
  }
  const wall = ((performance.now() - t0) * 1000) / calls;
  const cpu = process.cpuUsage(cpu0);
  return { wall, cpu: (cpu.user + cpu.system) / calls };
}
