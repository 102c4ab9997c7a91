/**
 * The plugin's own work per call, alone (its middleware around an in-process next()), in one
 * configuration — for profiling: `node --cpu-prof --import tsx bench/profile.ts producer`.
 * Variants: `full` (SDK histogram instruments), `producer` (in-process histograms), `nohist`,
 * `nobudget`, `noscope` (no per-call `withAttribution`).
 */
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import type { HandlerExecutionContext } from '@smithy/types';
import { bedrockFinOps, withAttribution } from '../src/index.js';
import { FINOPS_MIDDLEWARE } from '../src/middleware.js';
type Handler = (args: { input: unknown }) => Promise<unknown>;
const variant = process.argv[2] ?? 'full';
const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 60_000 });
const plugin = bedrockFinOps({
  meterProvider: new MeterProvider({ readers: [reader] }),
  attribution: { team: 'bench' },
  genAiHistograms: variant === 'nohist' ? false : variant === 'producer' ? 'producer' : true,
  budgets: variant === 'nobudget' ? [] : [{ name: 'bench-daily', limit: { tokens: 1e15, costUsd: 1e9 }, window: 'day' }],
});
let mw: ((next: Handler, ctx: HandlerExecutionContext) => Handler) | undefined;
plugin.applyToStack({ add: (m: typeof mw, o: { name: string }) => { if (o.name === FINOPS_MIDDLEWARE.name) mw = m; }, identify: () => [] } as never);
const output = { output: { usage: { inputTokens: 120, outputTokens: 48, totalTokens: 168 }, $metadata: {} }, response: { statusCode: 200, headers: {} } };
const context = { commandName: 'ConverseCommand', endpointV2: { url: new URL('https://bedrock-runtime.us-east-1.amazonaws.com') } } as unknown as HandlerExecutionContext;
const handler = mw!(() => Promise.resolve(output), context);
const messages = [{ role: 'user' as const, content: [{ text: 'Summarize the quarterly report in three bullet points.' }] }];
const input = { modelId: 'us.anthropic.claude-3-5-haiku-20241022-v1:0', messages, inferenceConfig: { maxTokens: 256 } };
const scoped = variant !== 'noscope';
const n = 20000;
const res: number[] = [];
for (let r = 0; r < 15; r++) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    if (scoped) await withAttribution({ feature: 'bench', tenant: `t${i % 100}` }, () => handler({ input }));
    else await handler({ input });
  }
  res.push(((performance.now() - t0) * 1000) / n);
}
res.sort((a, b) => a - b);
console.log(`${variant}: ${res[7]!.toFixed(2)} µs per call (median of 15 blocks of ${n})`);
