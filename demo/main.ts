/**
 * `npm run demo`: a multi-team workload against the bundled local Bedrock simulator (no AWS
 * account needed), metered by bedrock-finops: live progress and per-team table, a Prometheus
 * endpoint while it runs, a budget that trips, a provisioned model that saturates and spills to
 * on-demand, and a final report. `npm run demo -- --live` runs the same workload (small token
 * caps, no provisioned model) against real Bedrock with your AWS credentials.
 */
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { rmSync } from 'node:fs';
import { bedrockFinOps, isBudgetExceededError, withAttribution, type BudgetEvent, type UsageRecord } from '../src/index.js';
import { jsonlLedger } from '../src/ledger/index.js';
import { startBedrockSimulator } from '../src/testing/index.js';
import { num, table, Tally, usd } from './tally.js';
import { PROVISIONED_ARN, schedule } from './workload.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const live = process.argv.includes('--live');
const TOTAL = live ? 24 : 400;
const CONCURRENCY = live ? 2 : 8;
const tty = process.stdout.isTTY;

const sim = live ? undefined : await startBedrockSimulator({ latencyMs: 80, chunkDelayMs: 3, provisioned: { [PROVISIONED_ARN]: { model: 'anthropic.claude-3-haiku-20240307-v1:0', tokensPerMinute: 6_000 } } });
const promPort = Number(process.env.DEMO_PROMETHEUS_PORT ?? 9464);
const exporter = new PrometheusExporter({ port: promPort, host: '127.0.0.1' });
const meterProvider = new MeterProvider({ readers: [exporter] });

const LEDGER = process.env.DEMO_LEDGER ?? '.bedrock-finops/demo-ledger.jsonl';
rmSync(LEDGER, { force: true });
const ledger = jsonlLedger({ path: LEDGER });
const records: UsageRecord[] = [];
const events: BudgetEvent[] = [];
const byTeam = new Tally();
let rejected = 0;
const finops = bedrockFinOps({
  meterProvider,
  ledger,
  attribution: { app: 'demo' },
  provisioned: { [PROVISIONED_ARN]: { model: 'anthropic.claude-3-haiku-20240307-v1:0', fallback: 'us.anthropic.claude-3-haiku-20240307-v1:0', modelUnits: 1, hourlyCostUsd: 21 } },
  budgets: [
    { name: 'support-hourly', match: { team: 'support' }, limit: { tokens: live ? 4_000 : 15_000 }, window: 'hour', alertAt: [0.5, 0.8, 1] },
    { name: 'search-daily-usd', match: { team: 'search' }, limit: { costUsd: 5 }, window: 'day', alertAt: [0.5] },
    { name: 'ads-daily-usd', match: { team: 'ads' }, limit: { costUsd: live ? 0.001 : 0.002 }, window: 'day', action: 'warn' },
  ],
  policies: [{ name: 'no-opus-for-ads', match: { team: 'ads' }, denyModels: ['anthropic.claude-opus-*'] }],
  onUsage: (r) => {
    records.push(r);
    byTeam.add(r.attribution.team ?? '-', r);
  },
  onBudgetEvent: (e) => events.push(e),
});

const client =
  sim === undefined
    ? new BedrockRuntimeClient({ region: process.env.AWS_REGION ?? 'us-east-1' })
    : new BedrockRuntimeClient({ endpoint: sim.url, region: 'us-east-1', credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' }, requestHandler: new NodeHttpHandler() });
client.middlewareStack.use(finops);

const tasks = schedule(TOTAL).filter((t) => !live || t.feature !== 'triage');
let done = 0;
let failed = 0;
const started = Date.now();

function teamTable(): string {
  const limits: Record<string, string> = {};
  for (const e of events) if (e.type === 'threshold') limits[e.budget] = `${Math.round((e.threshold ?? 0) * 100)}%`;
  const rows = [...byTeam.rows].sort(([a], [b]) => a.localeCompare(b)).map(([team, r]) => [team, num(r.calls), num(r.input), num(r.output), num(r.cache), usd(r.costUsd), num(byTeam.row(team).fallbacks), num(r.errors)]);
  return table(['team', 'calls', 'input', 'output', 'cache', 'cost', 'spilled', 'errors'], rows);
}

function progress(): string {
  const width = 30;
  const filled = Math.round((done / tasks.length) * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${done}/${tasks.length} calls · ${rejected} rejected by budgets · ${((Date.now() - started) / 1000).toFixed(1)} s`;
}

let drawn = 0;
function draw(final = false): void {
  const text = `${progress()}\n\n${teamTable()}\n`;
  if (tty) {
    if (drawn > 0) process.stdout.write(`\x1b[${drawn}A\x1b[J`);
    process.stdout.write(text);
    drawn = text.split('\n').length - 1;
  } else if (final || done % 100 === 0) console.log(progress());
}

console.log(`bedrock-finops demo — ${live ? 'LIVE against Amazon Bedrock (small token caps)' : 'against the local Bedrock simulator (no AWS account needed)'}`);
console.log(`Prometheus metrics while it runs: http://127.0.0.1:${promPort}/metrics\n`);
const timer = setInterval(() => draw(), tty ? 150 : 1_000);

let next = 0;
async function worker(): Promise<void> {
  while (next < tasks.length) {
    const task = tasks[next++];
    if (task === undefined) break;
    try {
      await withAttribution({ team: task.team, feature: task.feature, ...task.attribution }, () => task.run(client, live));
    } catch (e) {
      if (isBudgetExceededError(e)) rejected++;
      else failed++;
    }
    done++;
  }
}
await Promise.all(Array.from({ length: CONCURRENCY }, worker));
clearInterval(timer);
draw(true);
if (!tty) console.log(`\n${teamTable()}`);

// The final report.
const seconds = ((Date.now() - started) / 1000).toFixed(1);
const dims: [string, (r: UsageRecord) => string][] = [
  ['team', (r) => r.attribution.team ?? '-'],
  ['feature', (r) => `${r.attribution.team ?? '-'}/${r.attribution.feature ?? '-'}`],
  ['model (served)', (r) => r.modelId],
];
console.log(`\n━━ Report: ${records.length} metered calls in ${seconds} s, ${rejected} rejected before sending, ${failed} failed ━━`);
for (const [name, key] of dims) {
  const t = new Tally();
  for (const r of records) t.add(key(r), r);
  const rows = [...t.rows].sort(([, a], [, b]) => b.costUsd - a.costUsd).map(([k, r]) => [k, num(r.calls), num(r.input + r.cache), num(r.output), usd(r.costUsd)]);
  const total = t.total();
  rows.push(['total', num(total.calls), num(total.input + total.cache), num(total.output), usd(total.costUsd)]);
  console.log(`\nCost by ${name}\n${table([name, 'calls', 'input (incl. cache)', 'output', 'cost'], rows)}`);
}

const status = await finops.budgets.status();
console.log(
  `\nBudgets\n${table(
    ['budget', 'key', 'window', 'action', 'used', 'limit', 'remaining', 'resets'],
    status.map((s) => {
      const type = s.limit.costUsd !== undefined ? 'costUsd' : 'tokens';
      const f = (n: number | undefined) => (n === undefined ? '-' : type === 'costUsd' ? usd(n) : num(Math.round(n)));
      return [s.budget, s.key ?? '-', s.window, s.action, f(s.used[type]), f(s.limit[type]), f(s.remaining[type]), s.resetAt?.toISOString().slice(11, 16) ?? 'never'];
    }),
  )}`,
);
const alerts = events.filter((e) => e.type !== 'rejected').map((e) => `${e.type} ${e.budget}${e.threshold === undefined ? '' : ` at ${e.threshold * 100}%`}`);
console.log(`Budget events: ${events.filter((e) => e.type === 'rejected').length} rejections; ${[...new Set(alerts)].join(', ') || 'no alerts'}`);

const spilled = records.filter((r) => r.fallback !== undefined);
const provisionedServed = records.filter((r) => r.modelKind === 'provisioned-model');
const onDemandEq = provisionedServed.reduce((s, r) => s + (r.onDemandEquivalentUsd ?? 0), 0);
console.log(
  `\nProvisioned throughput ${PROVISIONED_ARN.split('/').pop() ?? ''}: ${provisionedServed.length} calls served (on-demand equivalent ${usd(onDemandEq)}), ${spilled.length} spilled to on-demand (${[...new Set(spilled.map((r) => r.fallback?.reason))].join(', ') || '-'}), spilled cost ${usd(spilled.reduce((s, r) => s + (r.costUsd ?? 0), 0))}`,
);

await finops.shutdown();
console.log(`\nLedger: ${ledger.written} records in ${LEDGER}. For the full FinOps report (percentiles, cache, provisioned break-even, right-sizing hints):\n  npm run report -- ${LEDGER}            (installed: npx bedrock-finops report ${LEDGER})\n  npm run report -- ${LEDGER} --html report.html`);
await exporter.shutdown();
await sim?.close();
