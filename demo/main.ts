/**
 * `npm run demo`: a multi-team workload against the bundled local Bedrock simulator (no AWS
 * account needed), metered by bedrock-finops, with a per-team report at the end.
 */
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { bedrockFinOps, withAttribution, type UsageRecord } from '../src/index.js';
import { startBedrockSimulator } from '../src/testing/index.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const sim = await startBedrockSimulator({ latencyMs: 2, chunkDelayMs: 1 });
const records: UsageRecord[] = [];
const finops = bedrockFinOps({ attribution: { app: 'demo' }, onUsage: (r) => records.push(r) });
const client = new BedrockRuntimeClient({
  endpoint: sim.url,
  region: 'us-east-1',
  credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' },
  requestHandler: new NodeHttpHandler(),
});
client.middlewareStack.use(finops);

const say = (text: string) => [{ role: 'user' as const, content: [{ text }] }];

const workloads: Record<string, Record<string, () => Promise<unknown>>> = {
  search: {
    autocomplete: () => client.send(new ConverseCommand({ modelId: 'us.amazon.nova-micro-v1:0', messages: say('complete: how do I'), inferenceConfig: { maxTokens: 16 } })),
    summarize: async () => {
      const out = await client.send(new ConverseStreamCommand({ modelId: 'us.anthropic.claude-3-5-haiku-20241022-v1:0', messages: say('Summarize this page. '.repeat(40)) }));
      for await (const _ of out.stream ?? []) {
        /* a UI would render each delta */
      }
    },
  },
  support: {
    triage: () =>
      client.send(
        new InvokeModelCommand({
          modelId: 'meta.llama3-1-8b-instruct-v1:0',
          body: JSON.stringify({ prompt: 'Classify this ticket: my invoice is wrong', max_gen_len: 32 }),
        }),
      ),
    reply: async () => {
      const out = await client.send(
        new InvokeModelWithResponseStreamCommand({
          modelId: 'anthropic.claude-3-haiku-20240307-v1:0',
          body: JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 200, messages: say('Draft a polite reply. '.repeat(10)) }),
        }),
      );
      for await (const _ of out.body ?? []) {
        /* stream to the agent's screen */
      }
    },
  },
  ads: {
    'copy-gen': () => client.send(new ConverseCommand({ modelId: 'us.amazon.nova-lite-v1:0', messages: say('Write ad copy for running shoes.'), inferenceConfig: { maxTokens: 120 } })),
    embeddings: () => client.send(new InvokeModelCommand({ modelId: 'amazon.titan-embed-text-v2:0', body: JSON.stringify({ inputText: 'running shoes, trail, waterproof' }) })),
  },
};

const started = Date.now();
const calls: Promise<unknown>[] = [];
for (let round = 0; round < 10; round++) {
  for (const [team, features] of Object.entries(workloads)) {
    for (const [feature, run] of Object.entries(features)) {
      calls.push(withAttribution({ team, feature }, run));
    }
  }
}
await Promise.all(calls);
await sim.close();

type Row = { calls: number; input: number; output: number; cache: number };
const byKey = new Map<string, Row>();
for (const r of records) {
  const key = `${r.attribution.team ?? '-'} / ${r.attribution.feature ?? '-'} / ${r.modelId}`;
  const row = byKey.get(key) ?? { calls: 0, input: 0, output: 0, cache: 0 };
  row.calls++;
  row.input += r.inputTokens;
  row.output += r.outputTokens;
  row.cache += r.cacheReadInputTokens + r.cacheWriteInputTokens;
  byKey.set(key, row);
}
console.log(`bedrock-finops demo: ${records.length} calls metered in ${Date.now() - started} ms against the local simulator\n`);
console.table(Object.fromEntries([...byKey].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, v])));
