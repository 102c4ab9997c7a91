import type { Report } from './analyze.js';

const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * One self-contained HTML page: the report's tables plus two charts drawn as SVG by an inline
 * script from the embedded data (cost over time by team, input-token percentiles per feature).
 * No network, no external scripts.
 */
export function renderHtml(report: Report): string {
  const data = JSON.stringify({ costOverTime: report.costOverTime, inputPercentiles: report.inputPercentiles }).replace(/</g, '\\u003c');
  const rows = (cells: readonly (readonly string[])[]) => cells.map((r) => `<tr>${r.map((c) => `<td>${escape(c)}</td>`).join('')}</tr>`).join('');
  const breakdowns = report.breakdowns
    .map(
      (b) =>
        `<h2>Cost by ${escape(b.dimension)}</h2><table><tr><th>${escape(b.dimension)}</th><th>calls</th><th>input</th><th>output</th><th>cost (USD)</th></tr>${rows(
          b.rows.map((r) => [r.key, String(r.calls), String(r.inputTokens), String(r.outputTokens), r.costUsd.toFixed(6)]),
        )}</table>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bedrock-finops report</title>
<style>
body{font:14px system-ui,sans-serif;margin:2rem;color:#1b1f24}table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{text-align:left}
.chart{margin:1rem 0 2rem}.legend span{display:inline-block;margin-right:1rem}.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
</style></head><body>
<h1>bedrock-finops report</h1>
<p>${report.totals.calls} calls, ${escape(report.from ?? '-')} to ${escape(report.to ?? '-')}; total cost $${report.totals.costUsd.toFixed(4)}.</p>
<h2>Cost over time by team (per ${report.costOverTime.bucket})</h2><div id="cost-over-time" class="chart"></div>
<h2>Input tokens per call by feature (P50, P95, P99)</h2><div id="input-percentiles" class="chart"></div>
${breakdowns}
<h2>Right-sizing hints</h2><ul>${report.hints.map((h) => `<li>${escape(h.detail)}</li>`).join('') || '<li>none</li>'}</ul>
<script id="report-data" type="application/json">${data}</script>
<script>
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var NS = 'http://www.w3.org/2000/svg';
  var colors = ['#4269d0', '#efb118', '#ff725c', '#6cc5b0', '#3ca951', '#ff8ab7', '#a463f2', '#97bbf5'];
  function el(name, attrs, parent) { var e = document.createElementNS(NS, name); for (var k in attrs) e.setAttribute(k, attrs[k]); if (parent) parent.appendChild(e); return e; }
  function legend(container, names) { var d = document.createElement('div'); d.className = 'legend'; names.forEach(function (n, i) { var s = document.createElement('span'); s.innerHTML = '<i style="background:' + colors[i % colors.length] + '"></i>'; s.appendChild(document.createTextNode(n)); d.appendChild(s); }); container.appendChild(d); }
  // Stacked bars: one bar per time bucket, one segment per team.
  (function () {
    var pts = data.costOverTime.points, box = document.getElementById('cost-over-time');
    var buckets = Array.from(new Set(pts.map(function (p) { return p.at; }))).sort(), teams = Array.from(new Set(pts.map(function (p) { return p.team; }))).sort();
    var totals = buckets.map(function (b) { return pts.filter(function (p) { return p.at === b; }).reduce(function (s, p) { return s + p.costUsd; }, 0); });
    var max = Math.max.apply(null, totals.concat([1e-12])), W = 720, H = 240, bw = Math.min(80, Math.max(4, (W - 60) / Math.max(1, buckets.length) - 4));
    var svg = el('svg', { width: W, height: H + 40, 'data-chart': 'cost-over-time' }, box);
    buckets.forEach(function (b, i) {
      var y = H;
      teams.forEach(function (t, j) {
        var v = pts.filter(function (p) { return p.at === b && p.team === t; }).reduce(function (s, p) { return s + p.costUsd; }, 0);
        if (v <= 0) return; var h = (v / max) * (H - 10); y -= h;
        el('rect', { x: 50 + i * (bw + 4), y: y, width: bw, height: h, fill: colors[j % colors.length], 'data-team': t, 'data-bucket': b }, svg);
      });
      el('text', { x: 50 + i * (bw + 4), y: H + 14, 'font-size': 10 }, svg).textContent = b.slice(5);
    });
    el('text', { x: 0, y: 12, 'font-size': 11 }, svg).textContent = '$' + max.toFixed(4);
    legend(box, teams);
  })();
  // Grouped bars: P50, P95, P99 of prompt size per feature.
  (function () {
    var rows = data.inputPercentiles, box = document.getElementById('input-percentiles');
    var features = Array.from(new Set(rows.map(function (r) { return r.feature; })));
    var agg = features.map(function (f) { var rs = rows.filter(function (r) { return r.feature === f; }); return ['p50', 'p95', 'p99'].map(function (k) { return Math.max.apply(null, rs.map(function (r) { return r[k]; })); }); });
    var max = Math.max.apply(null, [1].concat(agg.map(function (a) { return a[2]; }))), W = 720, H = 240, gw = (W - 60) / Math.max(1, features.length), bw = Math.max(3, gw / 4);
    var svg = el('svg', { width: W, height: H + 40, 'data-chart': 'input-percentiles' }, box);
    agg.forEach(function (a, i) {
      a.forEach(function (v, j) { var h = (v / max) * (H - 10); el('rect', { x: 50 + i * gw + j * bw, y: H - h, width: bw - 1, height: h, fill: colors[j], 'data-feature': features[i], 'data-percentile': ['p50', 'p95', 'p99'][j] }, svg); });
      el('text', { x: 50 + i * gw, y: H + 14, 'font-size': 10 }, svg).textContent = features[i];
    });
    legend(box, ['P50', 'P95', 'P99']);
  })();
  document.body.setAttribute('data-rendered', 'true');
})();
</script>
</body></html>
`;
}
