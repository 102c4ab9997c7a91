import { shortModel } from './dimensions.js';
import { growth, int, pct, periodLine, skippedNote, usd, usdSum as exact } from './format.js';
import { terminalSafe, textTable } from './text-table.js';
import type { Report } from './types.js';

/** The report as readable terminal tables. */
export function renderText(report: Report): string {
  const out: string[] = [];
  const t = report.totals;
  out.push(`bedrock-finops report: ${periodLine(report)}`);
  const commitment = t.commitmentCostUsd > 0 ? ` + ${exact(t.commitmentCostUsd, t.commitmentCostUsdDecimal)} provisioned commitments = ${exact(t.totalCostUsd, t.totalCostUsdDecimal)}` : '';
  out.push(`total cost ${exact(t.costUsd, t.costUsdDecimal)}${commitment}; ${int(t.inputTokens)} input tokens (incl. cache), ${int(t.outputTokens)} output; ${int(t.errors)} failed calls; ${int(t.unpriced)} calls without a known price`);
  const skipped = skippedNote(report);
  if (skipped !== undefined) out.push(skipped);
  for (const b of report.breakdowns) {
    out.push('', terminalSafe(`Cost and tokens by ${b.dimensions.join(' × ')}`));
    out.push(textTable([...b.dimensions, 'calls', 'input', 'output', 'cost', 'share'], b.rows.map((r) => [...b.dimensions.map((d) => (d === 'model' ? shortModel(r.keys[d] ?? '') : (r.keys[d] ?? ''))), int(r.calls), int(r.inputTokens), int(r.outputTokens), exact(r.costUsd, r.costUsdDecimal), t.costUsd === 0 ? '-' : pct(r.costUsd / t.costUsd)]), '-', b.dimensions.length));
  }
  out.push('', 'Input tokens per call (prompt incl. cache): percentiles by feature and model (exact)');
  out.push(textTable(['feature', 'model', 'calls', 'P50', 'P95', 'P99'], report.inputPercentiles.map((p) => [p.feature, shortModel(p.model), int(p.calls), int(p.p50), int(p.p95), int(p.p99)]), '-', 2));
  out.push('', 'Context inflation: median prompt, first third of calls vs last third');
  out.push(textTable(['feature', 'early', 'late', 'growth'], report.contextInflation.map((c) => [c.feature, int(c.earlyMedian), int(c.lateMedian), `${growth(c.growth)}${c.growth > 0.2 ? '  ← growing' : ''}`])));
  out.push('', 'Output/input ratio by feature (agentic and generative workloads cost more per call)');
  out.push(textTable(['feature', 'input', 'output', 'output/input'], report.outputInputRatio.map((o) => [o.feature, int(o.inputTokens), int(o.outputTokens), o.ratio.toFixed(3)])));
  if (report.maxTokens.length > 0) {
    out.push('', 'maxTokens against output by feature (Bedrock reserves maxTokens × burndown of the quota at request start)');
    out.push(textTable(['feature', 'model', 'calls', 'maxTokens P50', 'output P99', 'P99 output/maxTokens'], report.maxTokens.map((m) => [m.feature, shortModel(m.model), int(m.calls), int(m.maxTokensP50), int(m.outputP99), pct(m.p99OutputShare)]), '-', 2));
  }
  const c = report.cache;
  out.push('', `Prompt cache: reads ${pct(c.readShare)} of input tokens (${int(c.readTokens)}), writes ${pct(c.writeShare)} (${int(c.writeTokens)}); caching saved ${usd(c.savedUsd)} net of write premiums`);
  if (report.provisioned.length > 0) {
    out.push('', 'Provisioned throughput (utilization over the period’s hours; idle hours are paid for too)');
    out.push(
      textTable(
        ['model', 'units', 'calls', 'spilled', 'avg use', 'peak hour', 'break-even', 'on-demand equiv.', 'commitment'],
        report.provisioned.map((p) => [shortModel(p.arn), p.modelUnits === undefined ? '-' : int(p.modelUnits), int(p.calls), int(p.spilled), pct(p.utilization), pct(p.peakUtilization), pct(p.breakEvenUtilization), exact(p.onDemandEquivalentUsd, p.onDemandEquivalentUsdDecimal), p.commitmentCostUsd === undefined ? '-' : exact(p.commitmentCostUsd, p.commitmentCostUsdDecimal)]),
      ),
    );
    for (const p of report.provisioned) {
      out.push(terminalSafe(`  ${shortModel(p.arn)}: ${p.verdict.text}`));
      if (p.capacitySource === 'estimated-from-spills') out.push(`    capacity ${int(p.capacityTokensPerMinute ?? 0)} tokens/min, estimated from the busiest minute with spills (set tokensPerMinutePerUnit to fix it)`);
      const peaks = p.peakHours.filter((h) => h.calls + h.spilled > 0).slice(0, 3);
      if (peaks.length > 0) out.push(`    busiest hours: ${peaks.map((h) => `${h.at.slice(0, 13)}:00Z ${pct(h.utilization)}${h.spilled > 0 ? ` (${int(h.spilled)} spilled)` : ''}`).join(', ')}`);
    }
  }
  out.push('', 'Right-sizing hints');
  if (report.hints.length === 0) out.push('  none');
  for (const h of report.hints) out.push(terminalSafe(`  - ${h.detail}${h.savingsUsd === undefined ? '' : ` (would save ${usd(h.savingsUsd)})`}`));
  return `${out.join('\n')}\n`;
}
