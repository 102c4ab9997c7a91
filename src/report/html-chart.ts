/** Server-side SVG bar charts for the HTML report: axes with values, labels, no script. */

export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export const PALETTE = ['#4269d0', '#efb118', '#ff725c', '#6cc5b0', '#3ca951', '#ff8ab7', '#a463f2', '#97bbf5', '#9c6b4e', '#9498a0'];

export interface ChartSeries {
  readonly name: string;
  readonly color: string;
}

export interface BarChartSpec {
  /** `data-chart` attribute, for tests and styling. */
  readonly id: string;
  readonly categories: readonly string[];
  readonly series: readonly ChartSeries[];
  /** values[category][series]. */
  readonly values: readonly (readonly number[])[];
  /** Segments stacked in one bar per category, or bars side by side. */
  readonly stacked: boolean;
  readonly format: (v: number) => string;
  readonly yLabel: string;
  /** A horizontal reference line, e.g. break-even utilization. */
  readonly reference?: { readonly value: number; readonly label: string };
  /** Extra `data-*` attributes per bar: (category index, series index) → attributes. */
  readonly attrs?: (c: number, s: number) => Readonly<Record<string, string>>;
}

function niceMax(max: number): number {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

const attrString = (a: Readonly<Record<string, string | number>>): string =>
  Object.entries(a)
    .map(([k, v]) => `${k}="${escapeHtml(String(v))}"`)
    .join(' ');

const clip = (s: string, max: number): string => (s.length <= max ? s : `${s.slice(0, Math.max(1, max - 1))}…`);

/** A category label: horizontal lines (split at ` · `) when they fit the bar's slot, else one line slanted 40°; clipped either way. */
function categoryLabel(cat: string, x: number, y: number, slot: number): string {
  const lines = cat.split(' · ');
  const fit = Math.floor(slot / 6.2);
  const title = `<title>${escapeHtml(cat)}</title>`;
  if (fit >= 8 || lines.every((l) => l.length <= fit))
    return `<text class="category" x="${x.toFixed(1)}" y="${y + 2}" text-anchor="middle">${title}${lines.map((l, i) => `<tspan x="${x.toFixed(1)}" dy="${i === 0 ? 0 : 12}">${escapeHtml(clip(l, Math.max(fit, 4)))}</tspan>`).join('')}</text>`;
  return `<text class="category" transform="translate(${x.toFixed(1)} ${y}) rotate(40)">${title}${escapeHtml(clip(cat, 11))}</text>`;
}

/** A bar chart with a value axis (5 ticks), category labels and each bar's value written above it. */
export function barChart(spec: BarChartSpec): string {
  const W = 760;
  const H = 240;
  const left = 78;
  const top = 18;
  const bottom = 70;
  const plotW = W - left - 70;
  const n = Math.max(1, spec.categories.length);
  const totals = spec.values.map((vs) => (spec.stacked ? vs.reduce((s, v) => s + v, 0) : Math.max(0, ...vs)));
  const max = niceMax(Math.max(0, ...totals, spec.reference?.value ?? 0));
  const y = (v: number): number => top + H - (v / max) * H;
  const slot = plotW / n;
  const groupW = Math.min(80, slot * 0.8);
  const barW = spec.stacked ? groupW : groupW / Math.max(1, spec.series.length);
  const parts: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#e3e5e8"/>`, `<text class="tick" x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${escapeHtml(spec.format(v))}</text>`);
  }
  parts.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + H}" stroke="#555"/>`, `<line x1="${left}" x2="${left + plotW}" y1="${top + H}" y2="${top + H}" stroke="#555"/>`);
  parts.push(`<text class="axis-label" transform="translate(12 ${top + H / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(spec.yLabel)}</text>`);
  const every = Math.ceil(n / 24);
  spec.categories.forEach((cat, c) => {
    const x0 = left + c * slot + (slot - groupW) / 2;
    let stack = 0;
    spec.series.forEach((s, k) => {
      const v = spec.values[c]?.[k] ?? 0;
      if (v <= 0) return;
      const yTop = spec.stacked ? y(stack + v) : y(v);
      const h = spec.stacked ? y(stack) - y(stack + v) : top + H - y(v);
      const x = spec.stacked ? x0 : x0 + k * barW;
      stack += v;
      parts.push(`<rect x="${x.toFixed(1)}" y="${yTop.toFixed(1)}" width="${Math.max(1, barW - 1).toFixed(1)}" height="${Math.max(0.5, h).toFixed(1)}" fill="${s.color}" data-value="${v}" ${attrString(spec.attrs?.(c, k) ?? {})}><title>${escapeHtml(`${cat} · ${s.name}: ${spec.format(v)}`)}</title></rect>`);
      if (!spec.stacked && n * spec.series.length <= 36) parts.push(`<text class="value" x="${(x + barW / 2).toFixed(1)}" y="${(yTop - 3).toFixed(1)}" text-anchor="middle">${escapeHtml(spec.format(v))}</text>`);
    });
    if (spec.stacked && n <= 31 && (totals[c] ?? 0) > 0) parts.push(`<text class="value" x="${(x0 + groupW / 2).toFixed(1)}" y="${(y(totals[c] ?? 0) - 3).toFixed(1)}" text-anchor="middle" data-total="${totals[c] ?? 0}">${escapeHtml(spec.format(totals[c] ?? 0))}</text>`);
    if (c % every === 0) parts.push(categoryLabel(cat, x0 + groupW / 2, top + H + 12, slot * every));
  });
  if (spec.reference !== undefined) {
    const ry = y(spec.reference.value);
    parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${ry}" y2="${ry}" stroke="#c0392b" stroke-dasharray="6 4" data-reference="${spec.reference.value}"/>`, `<text class="reference" x="${left + plotW}" y="${ry - 4}" text-anchor="end">${escapeHtml(spec.reference.label)}</text>`);
  }
  const legend = spec.series.length > 1 ? `<div class="legend">${spec.series.map((s) => `<span><i style="background:${s.color}"></i>${escapeHtml(s.name)}</span>`).join('')}</div>` : '';
  return `<figure class="chart"><svg viewBox="0 0 ${W} ${top + H + bottom}" width="${W}" height="${top + H + bottom}" data-chart="${escapeHtml(spec.id)}" role="img">${parts.join('')}</svg>${legend}</figure>`;
}
