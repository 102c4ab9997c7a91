/** Compiles a glob (`*` matches any run of characters, everything else is literal) to a matcher. */
export function compileGlob(pattern: string): (value: string) => boolean {
  if (!pattern.includes('*')) return (value) => value === pattern;
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const re = new RegExp(`^${source}$`);
  return (value) => re.test(value);
}

/** Compiles one glob or a list (any may match). */
export function compileGlobs(patterns: string | readonly string[]): (value: string) => boolean {
  const list = typeof patterns === 'string' ? [patterns] : patterns;
  const matchers = list.map(compileGlob);
  if (matchers.length === 1 && matchers[0] !== undefined) return matchers[0];
  return (value) => matchers.some((m) => m(value));
}
