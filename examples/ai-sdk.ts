/**
 * The Vercel AI SDK's Bedrock provider, metered through `finops.fetch`, against the local
 * simulator: one priced, attributed record per call, streams included.
 *
 *   npx tsx examples/ai-sdk.ts
 */
import { createAmazonBedrock } from '@ai-sdk/amazon-bedrock';
import { generateText, streamText } from 'ai';
import { bedrockFinOps, withAttribution } from 'bedrock-finops';
import { startBedrockSimulator } from 'bedrock-finops/testing';

const sim = await startBedrockSimulator();

const finops = bedrockFinOps({
  attribution: { team: 'search' },
  onUsage: (r) => console.log(JSON.stringify({ operation: r.operation, model: r.modelId, attribution: r.attribution, input: r.inputTokens, output: r.outputTokens, costUsd: r.costUsd })),
});
const bedrock = createAmazonBedrock({
  region: 'us-east-1',
  fetch: finops.fetch,
  baseURL: sim.url, // drop these two lines to talk to real Bedrock
  accessKeyId: 'example', secretAccessKey: 'example',
});

await withAttribution({ feature: 'chat' }, async () => {
  await generateText({ model: bedrock('us.amazon.nova-micro-v1:0'), prompt: 'Say hi' });
  const story = streamText({ model: bedrock('us.anthropic.claude-3-haiku-20240307-v1:0'), prompt: 'Tell a story' });
  await story.text; // a stream is metered when it ends
});
await sim.close();
