import { shortModel } from './dimensions.js';
import { growth, int, pct, periodLine, skippedNote, usd, usdRate, usdSum } from './format.js';
import { barChart, escapeHtml as esc, PALETTE } from './html-chart.js';
import type { ProvisionedReport, Report } from './types.js';

const table = (id: string, headers: readonly string[], rows: readonly (readonly string[])[]): string =>
  `<table data-table="${esc(id)}"><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('') || `<tr><td colspan="${headers.length}">none</td></tr>`}</tbody></table>`;

/** A model cell: the readable id, the full ARN on hover and below in small print. */
const model = (id: string): string => (id.startsWith('arn:') ? `<span title="${esc(id)}">${esc(shortModel(id))}</span><br><small class="arn">${esc(id)}</small>` : esc(id));

function costOverTime(report: Report): string {
  const pts = report.costOverTime.points;
  const buckets = [...new Set(pts.map((p) => p.at))].sort();
  const teams = [...new Set(pts.map((p) => p.team))].sort();
  const values = buckets.map((b) => teams.map((t) => pts.filter((p) => p.at === b && p.team === t).reduce((s, p) => s + p.costUsd, 0)));
  return barChart({ id: 'cost-over-time', categories: buckets.map((b) => (report.costOverTime.bucket === 'day' ? b : b.slice(5))), series: teams.map((t, i) => ({ name: t, color: PALETTE[i % PALETTE.length] ?? '#888' })), values, stacked: true, format: usd, yLabel: 'cost (USD)', attrs: (c, s) => ({ 'data-team': teams[s] ?? '', 'data-bucket': buckets[c] ?? '' }) });
}

function percentiles(report: Report): string {
  const rows = report.inputPercentiles;
  const keys = ['p50', 'p95', 'p99'] as const;
  return barChart({
    id: 'input-percentiles',
    categories: rows.map((r) => `${r.feature} · ${shortModel(r.model)}`),
    series: keys.map((k, i) => ({ name: k.toUpperCase(), color: PALETTE[i] ?? '#888' })),
    values: rows.map((r) => keys.map((k) => r[k])),
    stacked: false,
    format: int,
    yLabel: 'input tokens per call',
    attrs: (c, s) => ({ 'data-feature': rows[c]?.feature ?? '', 'data-model': rows[c]?.model ?? '', 'data-percentile': keys[s] ?? '' }),
  });
}

function provisioned(p: ProvisionedReport): string {
  const rows = [
    ['units', p.modelUnits === undefined ? '-' : int(p.modelUnits)],
    ['calls served / spilled', `${int(p.calls)} / ${int(p.spilled)}`],
    ['average use', pct(p.utilization)],
    ['peak hour', pct(p.peakUtilization)],
    ['break-even use', pct(p.breakEvenUtilization)],
    ['capacity (tokens/min)', p.capacityTokensPerMinute === undefined ? '-' : `${int(p.capacityTokensPerMinute)}${p.capacitySource === 'estimated-from-spills' ? ' (estimated from spills)' : ''}`],
    ['on-demand equivalent', usdSum(p.onDemandEquivalentUsd, p.onDemandEquivalentUsdDecimal)],
    ['commitment over the period', p.commitmentCostUsd === undefined ? '-' : `${usdSum(p.commitmentCostUsd, p.commitmentCostUsdDecimal)} (${int(p.hours)} h × ${usdRate(p.hourlyCostUsd ?? 0)})`],
  ];
  const hourly = p.hourly;
  const chart =
    hourly.length === 0
      ? ''
      : barChart({
          id: 'provisioned-hourly',
          categories: hourly.map((h) => h.at.slice(5, 13).replace('T', ' ') + 'h'),
          series: [{ name: p.utilization === undefined ? 'tokens' : 'utilization', color: PALETTE[0] ?? '#888' }],
          values: hourly.map((h) => [p.utilization === undefined ? h.tokens : (h.utilization ?? 0)]),
          stacked: false,
          format: p.utilization === undefined ? int : (v) => pct(v),
          yLabel: p.utilization === undefined ? 'tokens per hour' : 'utilization per hour',
          ...(p.breakEvenUtilization === undefined || p.utilization === undefined ? {} : { reference: { value: p.breakEvenUtilization, label: `break-even ${pct(p.breakEvenUtilization)}` } }),
          attrs: (c) => ({ 'data-hour': hourly[c]?.at ?? '', 'data-spilled': String(hourly[c]?.spilled ?? 0) }),
        });
  return `<section class="provisioned" data-arn="${esc(p.arn)}"><h3>${model(p.arn)}${p.model === undefined ? '' : ` <small>serves ${esc(p.model)}</small>`}</h3><p class="verdict verdict-${p.verdict.decision}" data-verdict="${p.verdict.decision}">${esc(p.verdict.text)}</p>${table(`provisioned:${p.arn}`, ['', ''], rows.map(([k = '', v = '']) => [esc(k), esc(v)]))}${chart}</section>`;
}

const CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#1b1f24}h1{margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.5rem 0 1.2rem;max-width:100%}td,th{padding:.25rem .6rem;border-bottom:1px solid #e6e6e6;text-align:right;vertical-align:top}td:first-child,th:first-child{text-align:left}th{background:#f6f7f9}
.totals td:first-child{font-weight:600}.arn{color:#6a737d;word-break:break-all}.chart{margin:.5rem 0 1.5rem}.chart svg{max-width:100%;height:auto;font-size:11px}.tick,.category{fill:#444}.value{fill:#1b1f24;font-size:10px}.axis-label{fill:#444}.reference{fill:#c0392b}
.legend span{display:inline-block;margin-right:1rem}.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}.verdict{font-weight:600;padding:.4rem .6rem;border-left:4px solid #999}.verdict-keep{border-color:#3ca951}.verdict-drop-or-shrink{border-color:#c0392b}.note{color:#6a737d}`;

/**
 * One self-contained HTML page with every section of the text and JSON reports (totals with
 * errors, unpriced calls and commitments; breakdowns; percentiles; inflation; output/input;
 * cache; provisioned with verdict and hourly use; hints with $ saved) and SVG charts with axes
 * and values, drawn here: no script runs, nothing is fetched. The report's JSON is embedded
 * (`<script type="application/json" id="report-data">`) for tools.
 */
export function renderHtml(report: Report): string {
  const t = report.totals;
  const data = JSON.stringify(report).replace(/</g, '\\u003c');
  const skipped = skippedNote(report);
  const totals = [
    ['calls', int(t.calls)],
    ['cost of calls', usdSum(t.costUsd, t.costUsdDecimal)],
    ['provisioned commitments', usdSum(t.commitmentCostUsd, t.commitmentCostUsdDecimal)],
    ['total cost', usdSum(t.totalCostUsd, t.totalCostUsdDecimal)],
    ['input tokens (incl. cache)', int(t.inputTokens)],
    ['output tokens', int(t.outputTokens)],
    ['failed calls', int(t.errors)],
    ['calls without a known price', int(t.unpriced)],
    ...(report.input === undefined ? [] : [['skipped ledger lines', int(report.input.skipped)]]),
  ];
  const breakdowns = report.breakdowns
    .map((b) => `<h2>Cost and tokens by ${esc(b.dimensions.join(' × '))}</h2>${table(`by:${b.dimension}`, [...b.dimensions, 'calls', 'input', 'output', 'cost', 'share'], b.rows.map((r) => [...b.dimensions.map((d) => (d === 'model' ? model(r.keys[d] ?? '') : esc(r.keys[d] ?? ''))), int(r.calls), int(r.inputTokens), int(r.outputTokens), usdSum(r.costUsd, r.costUsdDecimal), t.costUsd === 0 ? '-' : pct(r.costUsd / t.costUsd)]))}`)
    .join('\n');
  const c = report.cache;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>bedrock-finops report</title><style>${CSS}</style></head>
<body>
<h1>bedrock-finops report</h1>
<p class="period">${esc(periodLine(report))}</p>
${skipped === undefined ? '' : `<p class="note" data-skipped="${report.input?.skipped ?? 0}">${esc(skipped)}</p>`}
<section id="totals"><h2>Totals</h2>${table('totals', ['', ''], totals.map(([k = '', v = '']) => [esc(k), esc(v)])).replace('<table', '<table class="totals"')}</section>
<section id="cost-over-time-section"><h2>Cost over time by team (per ${report.costOverTime.bucket}, UTC)</h2>${costOverTime(report)}</section>
${breakdowns}
<section id="percentiles"><h2>Input tokens per call (prompt incl. cache): P50, P95, P99 by feature and model</h2>${percentiles(report)}${table('percentiles', ['feature', 'model', 'calls', 'P50', 'P95', 'P99'], report.inputPercentiles.map((p) => [esc(p.feature), model(p.model), int(p.calls), int(p.p50), int(p.p95), int(p.p99)]))}</section>
<section id="inflation"><h2>Context inflation: median prompt, first third of calls vs last third</h2>${table('inflation', ['feature', 'early', 'late', 'growth'], report.contextInflation.map((x) => [esc(x.feature), int(x.earlyMedian), int(x.lateMedian), esc(growth(x.growth))]))}</section>
<section id="ratio"><h2>Output/input ratio by feature</h2>${table('ratio', ['feature', 'input', 'output', 'output/input'], report.outputInputRatio.map((o) => [esc(o.feature), int(o.inputTokens), int(o.outputTokens), o.ratio.toFixed(3)]))}</section>
<section id="cache"><h2>Prompt cache</h2>${table('cache', ['', ''], [['cache reads', `${int(c.readTokens)} tokens (${pct(c.readShare)} of input)`], ['cache writes', `${int(c.writeTokens)} tokens (${pct(c.writeShare)} of input)`], ['saved, net of write premiums', usd(c.savedUsd)]].map(([k = '', v = '']) => [esc(k), esc(v)]))}</section>
<section id="provisioned"><h2>Provisioned throughput</h2>${report.provisioned.map(provisioned).join('\n') || '<p>none</p>'}</section>
<section id="hints"><h2>Right-sizing hints</h2><ul>${report.hints.map((h) => `<li data-hint="${h.kind}"${h.savingsUsd === undefined ? '' : ` data-savings="${h.savingsUsd}"`}>${esc(h.detail)}${h.savingsUsd === undefined ? '' : ` <strong>(would save ${esc(usd(h.savingsUsd))})</strong>`}</li>`).join('') || '<li>none</li>'}</ul></section>
<script id="report-data" type="application/json">${data}</script>
</body></html>
`;
}
