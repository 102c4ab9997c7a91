import type { Report } from './analyze.js';
import { textTable } from './text-table.js';

const usd = (n: number): string => `$${n.toFixed(Math.abs(n) < 1 ? 6 : 2)}`;
const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const pct = (n: number): string => `${(n * 100).toFixed(1)}%`;

const table = (headers: readonly string[], rows: readonly (readonly string[])[]): string => textTable(headers, rows);

/** The report as readable terminal tables. */
export function renderText(report: Report): string {
  const out: string[] = [];
  const t = report.totals;
  out.push(`bedrock-finops report: ${int(t.calls)} calls from ${report.from ?? '-'} to ${report.to ?? '-'}`);
  out.push(`total cost ${usd(t.costUsd)}; ${int(t.inputTokens)} input tokens (incl. cache), ${int(t.outputTokens)} output; ${int(t.errors)} failed calls; ${int(t.unpriced)} calls without a known price`);
  for (const b of report.breakdowns) {
    out.push('', `Cost and tokens by ${b.dimension}`);
    out.push(table([b.dimension, 'calls', 'input', 'output', 'cost', 'share'], b.rows.map((r) => [r.key, int(r.calls), int(r.inputTokens), int(r.outputTokens), usd(r.costUsd), t.costUsd === 0 ? '-' : pct(r.costUsd / t.costUsd)])));
  }
  out.push('', 'Input tokens per call (prompt incl. cache): percentiles by feature and model');
  out.push(table(['feature', 'model', 'calls', 'P50', 'P95', 'P99'], report.inputPercentiles.map((p) => [p.feature, p.model, int(p.calls), int(p.p50), int(p.p95), int(p.p99)])));
  out.push('', 'Context inflation: median prompt, first third of calls vs last third');
  out.push(table(['feature', 'early', 'late', 'growth'], report.contextInflation.map((c) => [c.feature, int(c.earlyMedian), int(c.lateMedian), `${c.growth >= 0 ? '+' : ''}${pct(c.growth)}${c.growth > 0.2 ? '  ← growing' : ''}`])));
  out.push('', 'Output/input ratio by feature (agentic and generative workloads cost more per call)');
  out.push(table(['feature', 'output/input'], report.outputInputRatio.map((o) => [o.feature, o.ratio.toFixed(3)])));
  const c = report.cache;
  out.push('', `Prompt cache: reads ${pct(c.readShare)} of input tokens (${int(c.readTokens)}), writes ${pct(c.writeShare)} (${int(c.writeTokens)}); caching saved ${usd(c.savedUsd)} net of write premiums`);
  if (report.provisioned.length > 0) {
    out.push('', 'Provisioned throughput');
    out.push(
      table(
        ['model', 'calls', 'spilled', 'tokens/min', 'utilization', 'on-demand equiv.', 'break-even util.'],
        report.provisioned.map((p) => [p.arn.split('/').pop() ?? p.arn, int(p.calls), int(p.spilled), int(p.tokensPerMinute), p.utilization === undefined ? '-' : pct(p.utilization), usd(p.onDemandEquivalentUsd), p.breakEvenUtilization === undefined ? '-' : pct(p.breakEvenUtilization)]),
      ),
    );
  }
  out.push('', 'Right-sizing hints');
  if (report.hints.length === 0) out.push('  none');
  for (const h of report.hints) out.push(`  - ${h.detail}${h.savingsUsd === undefined ? '' : ` (would save ${usd(h.savingsUsd)})`}`);
  return `${out.join('\n')}\n`;
}
