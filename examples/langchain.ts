/**
 * LangChain's `ChatBedrockConverse` with a `BedrockRuntimeClient` that carries the plugin,
 * against the local simulator.
 *
 *   npx tsx examples/langchain.ts
 */
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { ChatBedrockConverse } from '@langchain/aws';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { bedrockFinOps, withAttribution } from 'bedrock-finops';
import { startBedrockSimulator } from 'bedrock-finops/testing';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const sim = await startBedrockSimulator();

const client = new BedrockRuntimeClient({
  region: 'us-east-1',
  endpoint: sim.url, // drop these three lines to talk to real Bedrock
  credentials: { accessKeyId: 'example', secretAccessKey: 'example' },
  requestHandler: new NodeHttpHandler(),
});
client.middlewareStack.use(
  bedrockFinOps({
    attribution: { team: 'support' },
    onUsage: (r) => console.log(JSON.stringify({ operation: r.operation, model: r.modelId, attribution: r.attribution, input: r.inputTokens, output: r.outputTokens, costUsd: r.costUsd })),
  }),
);
// LangChain asks for a region even when it is given a client.
const model = new ChatBedrockConverse({ client, region: 'us-east-1', model: 'us.amazon.nova-micro-v1:0', maxTokens: 32 });

await withAttribution({ feature: 'triage' }, async () => {
  await model.invoke('Classify this ticket');
  const chunks = [];
  for await (const chunk of await model.stream('Draft a reply')) chunks.push(chunk); // a stream is metered when it ends
});
await sim.close();
