/** A plain-text table: the first `left` columns left-aligned (labels), the rest right-aligned (numbers), a rule under the header. */
export function textTable(headers: readonly string[], rows: readonly (readonly string[])[], rule = '-', left = 1): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i < left ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => rule.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
