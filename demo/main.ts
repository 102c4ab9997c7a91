/**
 * `npm run demo`: a multi-team workload against the bundled local Bedrock simulator (no AWS
 * account needed), metered by bedrock-finops: live progress and per-team table, a Prometheus
 * endpoint while it runs, a budget that trips, a provisioned model that saturates and spills to
 * on-demand, an on-demand quota the governor paces calls against (and a burst needing twice the
 * quota, without and with the governor), then the FinOps report of its ledger (percentiles, context inflation, right-sizing
 * and batch hints) and the same report as an HTML page.
 * `npm run demo -- --live` runs the same workload (small token caps, no provisioned model)
 * against real Bedrock with your AWS credentials and region, into a ledger of its own.
 */
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { rmSync } from 'node:fs';

import { bedrockFinOps, isBudgetExceededError, withAttribution, type BudgetEvent, type UsageRecord } from '../src/index.js';
import { jsonlLedger } from '../src/ledger/index.js';
import { startBedrockSimulator } from '../src/testing/index.js';
import { reportFromLedger } from './analytics.js';
import { missingForLive } from './live.js';
import { servePrometheus } from './prometheus.js';
import { quotaBurstLines, quotasTable, SONNET_QUOTA, sonnetQuota } from './quota.js';
import { budgetEventsLine, budgetsTable, provisionedLine } from './summary.js';
import { num, table, Tally, usd } from './tally.js';
import { PROVISIONED, schedule } from './workload.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const live = process.argv.includes('--live');
const TOTAL = live ? 24 : 400;
const CONCURRENCY = live ? 2 : 8;
const tty = process.stdout.isTTY;
// Each mode keeps its own ledger: a live run never overwrites the simulator run's, nor the reverse.
const LEDGER = process.env.DEMO_LEDGER ?? (live ? '.bedrock-finops/demo-live-ledger.jsonl' : '.bedrock-finops/demo-ledger.jsonl');

let client: BedrockRuntimeClient;
const sim = live
  ? undefined
  : await startBedrockSimulator({
      latencyMs: 80,
      chunkDelayMs: 3,
      provisioned: { [PROVISIONED.arn]: { model: PROVISIONED.model, tokensPerMinute: PROVISIONED.tokensPerMinutePerUnit * PROVISIONED.modelUnits } },
      // Sonnet 4.5's on-demand quota, enforced the way Bedrock counts it: the governor paces the intent feature against it.
      onDemandQuota: { ...SONNET_QUOTA, models: 'anthropic.claude-sonnet-4*' },
    });
if (sim === undefined) {
  client = new BedrockRuntimeClient({});
  const missing = await missingForLive(client);
  if (missing.length > 0) {
    console.error(`npm run demo -- --live needs, and could not find:\n${missing.map((m) => `  - ${m}`).join('\n')}\nNothing was sent to Bedrock.`);
    process.exit(1);
  }
} else {
  // The SDK's default client: it speaks HTTP/2 to the simulator as it would to Bedrock.
  client = new BedrockRuntimeClient({ endpoint: sim.url, region: 'us-east-1', credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' } });
}

const prometheus = await servePrometheus(Number(process.env.DEMO_PROMETHEUS_PORT ?? 9464));
const meterProvider = new MeterProvider({ readers: [prometheus.exporter] });
rmSync(LEDGER, { force: true });
const ledger = jsonlLedger({ path: LEDGER });
const records: UsageRecord[] = [];
const events: BudgetEvent[] = [];
const byTeam = new Tally();
const failures = new Map<string, number>();
let rejected = 0;
const finops = bedrockFinOps({
  meterProvider,
  ledger,
  attribution: { app: 'demo' },
  provisioned: { [PROVISIONED.arn]: { model: PROVISIONED.model, fallback: PROVISIONED.fallback, modelUnits: PROVISIONED.modelUnits, hourlyCostUsd: PROVISIONED.hourlyCostUsd, tokensPerMinutePerUnit: PROVISIONED.tokensPerMinutePerUnit } },
  budgets: [
    { name: 'support-hourly', match: { team: 'support' }, limit: { tokens: live ? 4_000 : 15_000 }, window: 'hour', alertAt: [0.5, 0.8, 1] },
    { name: 'search-daily-usd', match: { team: 'search' }, limit: { costUsd: 5 }, window: 'day', alertAt: [0.5] },
    { name: 'ads-daily-usd', match: { team: 'ads' }, limit: { costUsd: live ? 0.001 : 0.002 }, window: 'day', action: 'warn' },
  ],
  policies: [{ name: 'no-opus-for-ads', match: { team: 'ads' }, denyModels: ['anthropic.claude-opus-*'] }],
  ...(live ? {} : { quotas: [sonnetQuota] }),
  onUsage: (r) => {
    records.push(r);
    byTeam.add(r.attribution.team ?? '-', r);
  },
  onBudgetEvent: (e) => events.push(e),
});
client.middlewareStack.use(finops);

const calls = schedule(TOTAL).filter((c) => !live || c.task.feature !== 'triage');
let done = 0;
const started = Date.now();
const failed = (): number => [...failures.values()].reduce((a, b) => a + b, 0);

function teamTable(): string {
  const rows = [...byTeam.rows].sort(([a], [b]) => a.localeCompare(b)).map(([team, r]) => [team, num(r.calls), num(r.input), num(r.output), num(r.cache), usd(r.costUsd), num(r.fallbacks), num(r.errors)]);
  return table(['team', 'calls', 'input', 'output', 'cache', 'cost', 'spilled', 'errors'], rows);
}

function progress(): string {
  const width = 30;
  const filled = Math.round((done / calls.length) * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${done}/${calls.length} calls · ${rejected} rejected by budgets · ${((Date.now() - started) / 1000).toFixed(1)} s`;
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
console.log(prometheus.url === undefined ? `${prometheus.problem ?? ''}\n` : `Prometheus metrics while it runs: ${prometheus.url}\n`);
const timer = setInterval(() => draw(), tty ? 150 : 1_000);

let next = 0;
async function worker(): Promise<void> {
  while (next < calls.length) {
    const call = calls[next++];
    if (call === undefined) break;
    const { task, step } = call;
    try {
      await withAttribution({ team: task.team, feature: task.feature, ...task.attribution }, () => task.run(client, live, step));
    } catch (e) {
      if (isBudgetExceededError(e)) rejected++;
      else {
        const name = e instanceof Error ? e.name : 'Error';
        failures.set(name, (failures.get(name) ?? 0) + 1);
      }
    }
    done++;
  }
}
await Promise.all(Array.from({ length: CONCURRENCY }, worker));
clearInterval(timer);
draw(true);
if (!tty) console.log(`\n${teamTable()}`);

const failedLine = failures.size === 0 ? '0 failed' : `${failed()} failed (${[...failures].map(([n, c]) => `${n} ×${c}`).join(', ')})`;
console.log(`\n━━ Run: ${records.length} metered calls in ${((Date.now() - started) / 1000).toFixed(1)} s, ${rejected} rejected before sending, ${failedLine} ━━`);
console.log(`\nBudgets\n${budgetsTable(await finops.budgets.status())}`);
console.log(budgetEventsLine(events));
if (!live) {
  console.log(`\n${provisionedLine(records)}`);
  const sonnetThrottles = [...(sim?.stats.byModel ?? [])].filter(([id]) => id.includes('claude-sonnet-4')).reduce((n, [, m]) => n + m.throttled, 0);
  console.log(`\nQuotas (the simulator enforces Sonnet 4.5's quota the way Bedrock counts it and answers 429 beyond it: ${sonnetThrottles} of its calls throttled)\n${quotasTable(finops.quotas.status())}`);
  console.log(`\n${await quotaBurstLines()}`);
}

await finops.shutdown();
await prometheus.exporter.shutdown();
await sim?.close();
client.destroy();

const report = await reportFromLedger(LEDGER);
console.log(`\n━━ FinOps report of the run's ledger (${LEDGER}) ━━\n\n${report.text}`);
console.log(`Ledger: ${ledger.written} records in ${LEDGER}`);
console.log(`HTML report: ${report.html}`);
console.log(`The same from the ledger (its header carries the provisioned commitment): npm run report -- ${LEDGER}   (installed: npx bedrock-finops report …; FOCUS: npx bedrock-finops export ${LEDGER} --format focus)`);
// A run where calls failed (not budget rejections: those are the demo working) is not a success.
if (failed() > 0) process.exitCode = 1;
