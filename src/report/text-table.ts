import { sliceWhole } from '../unicode.js';

// C0 and C1 controls, DEL, the line and paragraph separators and the bidirectional overrides.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\u001b': '\\e' };

/** The longest label a table cell shows; longer ones end in `…` (the JSON, CSV and HTML reports keep them whole). */
export const MAX_LABEL = 64;

/**
 * A value from the ledger as terminal text: control characters are shown as escapes, never sent to
 * the terminal. Attribution values are untrusted: a newline drew a fake report line
 * (`team: 'x\nFAKE total cost $0.00'`), an escape sequence cleared the screen or recoloured it.
 */
export const terminalSafe = (s: string): string => s.replace(UNSAFE, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

const label = (s: string): string => {
  const safe = terminalSafe(s);
  return safe.length <= MAX_LABEL ? safe : `${sliceWhole(safe, MAX_LABEL - 1)}…`;
};

/** A plain-text table: the first `left` columns left-aligned (labels, made terminal-safe and clipped), the rest right-aligned (numbers), a rule under the header. */
export function textTable(headers: readonly string[], rows: readonly (readonly string[])[], rule = '-', left = 1): string {
  const cells = [headers, ...rows].map((r) => r.map((c, i) => (i < left ? label(c) : terminalSafe(c))));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (cs: readonly string[]) => cs.map((c, i) => (i < left ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  const [head = [], ...body] = cells;
  return [line(head), widths.map((w) => rule.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
