/**
 * One benchmark variant in a fresh process, so its code paths are not shared with the other
 * variant's (no polymorphism or GC carried over): prints µs per call of the last of 3 rounds.
 */
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { bedrockFinOps, withAttribution } from '../src/index.js';
import { cannedHandler, CONVERSE } from './canned-handler.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const variant = process.argv[2] ?? 'bare';
const calls = Number(process.argv[3] ?? 5000);
const client = new BedrockRuntimeClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, requestHandler: cannedHandler(CONVERSE) });
if (variant !== 'bare') {
  const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 60_000 });
  client.middlewareStack.use(
    bedrockFinOps({
      meterProvider: new MeterProvider({ readers: [reader] }),
      attribution: { team: 'bench' },
      budgets: [{ name: 'b', limit: { tokens: 1e15 }, window: 'day' }],
      genAiHistograms: variant !== 'plugin-no-histograms',
    }),
  );
}
const cmd = new ConverseCommand({ modelId: 'us.anthropic.claude-3-5-haiku-20241022-v1:0', messages: [{ role: 'user', content: [{ text: 'Summarize the quarterly report.' }] }], inferenceConfig: { maxTokens: 256 } });
let result = 0;
for (let round = 0; round < 3; round++) {
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) {
    if (variant === 'plugin+scope') await withAttribution({ feature: 'bench', tenant: `t${i % 100}` }, () => client.send(cmd));
    else await client.send(cmd);
  }
  result = ((performance.now() - t0) * 1000) / calls;
}
console.log(result.toFixed(2));
