/**
 * Exposes bedrock-finops metrics on a Prometheus endpoint while a small workload runs against
 * the local Bedrock simulator.
 *
 *   npx tsx examples/prometheus.ts            # runs, prints a summary, exits
 *   PROMETHEUS_PORT=9464 SERVE=1 npx tsx examples/prometheus.ts   # keeps serving /metrics until Ctrl-C
 *
 * Then e.g. `sum by (team) (bedrock_finops_tokens_total{bedrock_finops_token_type="input"})`.
 */
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { bedrockFinOps, withAttribution } from 'bedrock-finops';
import { startBedrockSimulator } from 'bedrock-finops/testing';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const port = Number(process.env.PROMETHEUS_PORT ?? 9464);
const calls = Number(process.env.CALLS ?? 30);

const exporter = new PrometheusExporter({ port, host: '127.0.0.1' });
const meterProvider = new MeterProvider({ readers: [exporter] });

const sim = await startBedrockSimulator();
const client = new BedrockRuntimeClient({
  endpoint: sim.url,
  region: 'us-east-1',
  credentials: { accessKeyId: 'example', secretAccessKey: 'example' },
});
const totals: Record<string, { input: number; output: number }> = {};
client.middlewareStack.use(
  bedrockFinOps({
    meterProvider,
    onUsage: (r) => {
      const team = r.attribution.team ?? '';
      const t = (totals[team] ??= { input: 0, output: 0 });
      t.input += r.inputTokens;
      t.output += r.outputTokens;
    },
  }),
);

const teams = ['search', 'support', 'ads'];
for (let i = 0; i < calls; i++) {
  const team = teams[i % teams.length] ?? 'search';
  await withAttribution({ team, feature: i % 2 === 0 ? 'chat' : 'summarize' }, () =>
    client.send(new ConverseCommand({ modelId: 'us.amazon.nova-lite-v1:0', messages: [{ role: 'user', content: [{ text: `question number ${i} `.repeat(1 + (i % 5)) }] }] })),
  );
}
await sim.close();
console.log(JSON.stringify({ metrics: `http://127.0.0.1:${port}/metrics`, totals }));

if (process.env.SERVE === '1') {
  // The exporter's server does not hold the process open by itself.
  const keepAlive = setInterval(() => undefined, 60_000);
  const stop = () => {
    clearInterval(keepAlive);
    void exporter.shutdown().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  await meterProvider.shutdown();
}
