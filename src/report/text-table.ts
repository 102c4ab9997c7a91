/** A plain-text table: the first column left-aligned, the rest right-aligned, a rule under the header. */
export function textTable(headers: readonly string[], rows: readonly (readonly string[])[], rule = '-'): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(headers), widths.map((w) => rule.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
