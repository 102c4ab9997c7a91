/**
 * The README quickstart, against the local simulator instead of AWS.
 *
 *   npx tsx examples/quickstart.ts
 */
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { bedrockFinOps, withAttribution } from 'bedrock-finops';
import { startBedrockSimulator } from 'bedrock-finops/testing';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const sim = await startBedrockSimulator();

const client = new BedrockRuntimeClient({
  region: 'us-east-1',
  endpoint: sim.url, // drop these two lines (and the simulator) to talk to real Bedrock
  credentials: { accessKeyId: 'example', secretAccessKey: 'example' },
});
client.middlewareStack.use(
  bedrockFinOps({
    attribution: { team: 'search' },
    onUsage: (r) => console.log(JSON.stringify({ attribution: r.attribution, model: r.modelId, input: r.inputTokens, output: r.outputTokens, cost: `$${(r.costUsd ?? 0).toFixed(6)}` })),
  }),
);

await withAttribution({ feature: 'autocomplete' }, () =>
  client.send(new ConverseCommand({ modelId: 'us.amazon.nova-micro-v1:0', messages: [{ role: 'user', content: [{ text: 'hi' }] }] })),
);
await sim.close();
