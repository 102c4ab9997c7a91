/**
 * Provisioned throughput that spills to on-demand: the simulator gives the provisioned model a
 * small capacity; once it answers 429, calls are re-issued on demand (one provisioned attempt, no
 * SDK backoff), its breaker keeps sending calls there for the cooldown, and each record says what
 * served it.
 *
 *   npx tsx examples/fallback.ts
 */
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { bedrockFinOps, type UsageRecord } from 'bedrock-finops';
import { startBedrockSimulator } from 'bedrock-finops/testing';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
// Costs of single calls are fractions of a cent: print them to the micro-dollar.
const usd = (n: number | undefined): string | null => (n === undefined ? null : `$${n.toFixed(6)}`);
const ARN = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/example01';
const sim = await startBedrockSimulator({ provisioned: { [ARN]: { model: 'anthropic.claude-3-haiku-20240307-v1:0', tokensPerMinute: 200 } } });
const records: UsageRecord[] = [];
const bedrock = new BedrockRuntimeClient({ endpoint: sim.url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
bedrock.middlewareStack.use(
  bedrockFinOps({
    provisioned: { [ARN]: { model: 'anthropic.claude-3-haiku-20240307-v1:0', fallback: 'us.anthropic.claude-3-haiku-20240307-v1:0', modelUnits: 1 } },
    fallback: { cooldownMs: 10_000 },
    onUsage: (r) => records.push(r),
  }),
);

for (let i = 0; i < 8; i++) {
  await bedrock.send(new ConverseCommand({ modelId: ARN, messages: [{ role: 'user', content: [{ text: `ticket ${i}: where is my order?` }] }], inferenceConfig: { maxTokens: 50 } }));
}
await sim.close();
for (const r of records)
  console.log(JSON.stringify({ servedBy: r.modelKind === 'provisioned-model' ? 'provisioned' : r.modelId, fallback: r.fallback?.reason ?? null, cost: usd(r.costUsd), onDemandEquivalent: usd(r.onDemandEquivalentUsd) }));
console.log(`provisioned ${sim.stats.byModel.get(ARN)?.requests ?? 0} requests (${sim.stats.byModel.get(ARN)?.throttled ?? 0} throttled), on-demand ${sim.stats.byModel.get('us.anthropic.claude-3-haiku-20240307-v1:0')?.requests ?? 0}`);
