/**
 * Sends bedrock-finops metrics over OTLP/HTTP, the way a collector, Grafana Alloy, Datadog Agent
 * or Honeycomb receives them. Set OTEL_EXPORTER_OTLP_ENDPOINT to send to your collector; without
 * it, the example starts a tiny local OTLP receiver and prints what arrived.
 *
 *   npx tsx examples/otlp.ts
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { AggregationTemporality, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { bedrockFinOps, withAttribution } from 'bedrock-finops';
import { startBedrockSimulator } from 'bedrock-finops/testing';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

// A stand-in collector: accepts OTLP/HTTP JSON and remembers the metric names and data points.
const received = new Map<string, number>();
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    const payload = JSON.parse(body) as { resourceMetrics?: { scopeMetrics?: { metrics?: { name: string; sum?: { dataPoints: unknown[] }; histogram?: { dataPoints: unknown[] } }[] }[] }[] };
    for (const rm of payload.resourceMetrics ?? [])
      for (const sm of rm.scopeMetrics ?? [])
        for (const m of sm.metrics ?? []) received.set(m.name, (m.sum ?? m.histogram)?.dataPoints.length ?? 0);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
const endpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
if (endpoint === undefined) await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const url = endpoint === undefined ? `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/metrics` : `${endpoint.replace(/\/$/, '')}/v1/metrics`;

// Delta temporality suits Datadog and most SaaS backends; use CUMULATIVE for Prometheus-style stores.
const reader = new PeriodicExportingMetricReader({
  exporter: new OTLPMetricExporter({ url, temporalityPreference: AggregationTemporality.DELTA }),
  exportIntervalMillis: 60_000,
});
const meterProvider = new MeterProvider({ readers: [reader] });

const sim = await startBedrockSimulator();
const client = new BedrockRuntimeClient({
  endpoint: sim.url,
  region: 'us-east-1',
  credentials: { accessKeyId: 'example', secretAccessKey: 'example' },
});
client.middlewareStack.use(bedrockFinOps({ meterProvider, attribution: { team: 'platform' } }));

for (const feature of ['chat', 'search', 'chat']) {
  await withAttribution({ feature }, () =>
    client.send(new ConverseCommand({ modelId: 'us.amazon.nova-micro-v1:0', messages: [{ role: 'user', content: [{ text: 'hello' }] }] })),
  );
}
await reader.forceFlush();
await meterProvider.shutdown();
await sim.close();
receiver.close();

console.log(`exported to ${url}`);
if (endpoint === undefined) for (const [name, points] of [...received].sort()) console.log(`  ${name}: ${points} data point(s)`);
