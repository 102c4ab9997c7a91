/**
 * Clients over the canned in-process handler and the three operations the benchmark times. It
 * loads the SDK: import it only after `installPeer()` when the peer is measured.
 */
import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand, InvokeModelCommand } from '@aws-sdk/client-bedrock-runtime';
import { withAttribution, type BedrockFinOps } from '../src/index.js';
import { cannedHandler, CONVERSE, converseStream, INVOKE, type Canned } from './canned-handler.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export function client(canned: Canned, finops?: BedrockFinOps): BedrockRuntimeClient {
  const c = new BedrockRuntimeClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, requestHandler: cannedHandler(canned) });
  if (finops !== undefined) c.middlewareStack.use(finops);
  return c;
}

export interface Operation {
  readonly name: string;
  readonly canned: Canned;
  /** One call as an app makes it: a new command each time. */
  send(c: BedrockRuntimeClient): Promise<unknown>;
}

const MODEL = 'us.anthropic.claude-3-5-haiku-20241022-v1:0';
export const messages = [{ role: 'user' as const, content: [{ text: 'Summarize the quarterly report in three bullet points.' }] }];
// A string body: the peer's Bedrock extension JSON.parses the body as it is and fails the call on a Uint8Array.
const invokeBody = JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 256, messages });

export const CONVERSE_OP: Operation = {
  name: 'Converse',
  canned: CONVERSE,
  send: (c) => c.send(new ConverseCommand({ modelId: MODEL, messages, inferenceConfig: { maxTokens: 256 } })),
};
export const INVOKE_OP: Operation = {
  name: 'InvokeModel',
  canned: INVOKE,
  send: (c) => c.send(new InvokeModelCommand({ modelId: 'anthropic.claude-3-5-haiku-20241022-v1:0', body: invokeBody })),
};
export const STREAM_OP: Operation = {
  name: 'ConverseStream (1,000 events, drained)',
  canned: converseStream(1_000),
  async send(c) {
    const s = await c.send(new ConverseStreamCommand({ modelId: MODEL, messages }));
    for await (const _ of s.stream ?? []) {
      /* drain */
    }
  },
};

let tenant = 0;
/**
 * µs per call over `calls` calls, wall-clock and process CPU time (CPU time leaves out the time
 * the process waits for a core, the largest noise on a shared machine; it includes GC threads).
 * `scoped` runs each call in its own attribution scope, as a server does per request.
 */
export async function timed(c: BedrockRuntimeClient, op: Operation, calls: number, scoped: boolean): Promise<{ wall: number; cpu: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) {
    if (scoped) await withAttribution({ feature: 'bench', tenant: `t${tenant++ % 100}` }, () => op.send(c));
    else await op.send(c);
  }
  const wall = ((performance.now() - t0) * 1000) / calls;
  const cpu = process.cpuUsage(cpu0);
  return { wall, cpu: (cpu.user + cpu.system) / calls };
}
