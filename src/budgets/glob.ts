/**
 * Globs in budget rules and model policies: `*` matches any run of characters (also none),
 * everything else is literal. Values come from requests (attribution), so matching must not
 * backtrack: a regex like `^a.*b.*c$` is exponential in the number of stars on a hostile value.
 * With only `*` as a wildcard, the pattern splits into literal segments; the first must be a
 * prefix, the last a suffix, and each middle one can be taken at its leftmost occurrence after
 * the previous one (taking it later never helps), so one left-to-right scan decides.
 */
interface Segments {
  readonly prefix: string;
  readonly middle: readonly string[];
  readonly suffix: string;
  /** Characters the literal segments need at least. */
  readonly minLength: number;
}

function segmentsOf(pattern: string): Segments {
  const parts = pattern.split('*');
  const prefix = parts[0] ?? '';
  const suffix = parts.length > 1 ? (parts[parts.length - 1] ?? '') : '';
  // Empty middles come from `**` and match nothing in particular.
  const middle = parts.slice(1, -1).filter((p) => p !== '');
  const minLength = prefix.length + suffix.length + middle.reduce((n, p) => n + p.length, 0);
  return { prefix, middle, suffix, minLength };
}

function matchesSegments(s: Segments, value: string): boolean {
  if (value.length < s.minLength || !value.startsWith(s.prefix) || !value.endsWith(s.suffix)) return false;
  const end = value.length - s.suffix.length;
  let at = s.prefix.length;
  for (const part of s.middle) {
    const found = value.indexOf(part, at);
    if (found < 0 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}

/** Compiles a glob (`*` matches any run of characters, everything else is literal) to a matcher. */
export function compileGlob(pattern: string): (value: string) => boolean {
  if (!pattern.includes('*')) return (value) => value === pattern;
  const segments = segmentsOf(pattern);
  return (value) => matchesSegments(segments, value);
}

/** Compiles one glob or a list (any may match). */
export function compileGlobs(patterns: string | readonly string[]): (value: string) => boolean {
  const list = typeof patterns === 'string' ? [patterns] : patterns;
  const matchers = list.map(compileGlob);
  if (matchers.length === 1 && matchers[0] !== undefined) return matchers[0];
  return (value) => matchers.some((m) => m(value));
}
