/**
 * Memory under tenant churn: 1,000,000 calls through the plugin's middleware (the SDK replaced by
 * an in-process next()) over 10,000 distinct tenants. The cardinality guard must keep the
 * plugin's state bounded: metric series, in-process histograms, budget counters, call shapes.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { withAttribution } from '../src/index.js';
import { ALONE_INPUT, pluginHandler } from './middleware-alone.js';
import { meteredPlugin, type HistogramMode } from './plugin-config.js';
import { fmt } from './stats.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heap = (): number => {
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

async function churn(mode: HistogramMode, calls: number): Promise<string> {
  const { finops, reader } = meteredPlugin(mode);
  const handler = pluginHandler(finops);
  const points: string[] = [];
  // An early point (every tenant seen twice), then quarters: growth after the first is what leaks.
  const at = new Set([calls / 50, calls / 4, calls / 2, (3 * calls) / 4, calls]);
  const base = heap();
  for (let i = 0; i < calls; i++) {
    await withAttribution({ tenant: `tenant-${i % 10_000}` }, () => handler({ input: ALONE_INPUT }));
    if (at.has(i + 1)) {
      // Collect as an exporter would: what the reader holds must be bounded too.
      await reader.collect();
      points.push(`${((i + 1) / 1000).toLocaleString('en-US')}k: ${fmt(heap() - base)} MB`);
    }
  }
  await finops.shutdown();
  return points.join(', ');
}

export async function memory(smoke: boolean): Promise<string[]> {
  const calls = smoke ? 50_000 : 1_000_000;
  const lines = [`Heap growth over ${calls.toLocaleString('en-US')} calls spread over 10,000 tenants (100 reach metrics, the rest are \`_OTHER\`), after GC, metrics collected at each point:`, ''];
  lines.push(`- \`genAiHistograms: 'producer'\`: ${await churn('producer', calls)}.`);
  lines.push(`- default (\`true\`): ${await churn('instruments', calls)}.`);
  return lines;
}
