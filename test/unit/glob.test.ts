import { describe, expect, it } from 'vitest';
import { compileGlob, compileGlobs } from '../../src/budgets/glob.js';

/** The old regex translation, as a reference on inputs short enough for backtracking not to matter. */
function referenceMatch(pattern: string, value: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 's').test(value);
}

describe('compileGlob', () => {
  it.each([
    ['exact', 'exact', true],
    ['exact', 'exactly', false],
    ['', '', true],
    ['', 'x', false],
    ['*', '', true],
    ['*', 'anything at all', true],
    ['**', 'x', true],
    ['a*', 'a', true],
    ['a*', 'ba', false],
    ['*a', 'ba', true],
    ['*a', 'ab', false],
    ['a*a', 'a', false],
    ['a*a', 'aa', true],
    ['ab*ba', 'aba', false],
    ['ab*ba', 'abba', true],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'acb', false],
    ['a*b*c', 'axxbyybzzc', true],
    ['*b*b*', 'xbyb', true],
    ['*b*b*', 'xby', false],
    ['anthropic.claude-*haiku*', 'anthropic.claude-3-5-haiku-20241022-v1:0', true],
    ['anthropic.claude-*haiku*', 'anthropic.claude-sonnet-4', false],
    ['a.b', 'axb', false],
    ['(x)+[y]?', '(x)+[y]?', true],
    ['$^\\*', '$^\\anything', true],
    ['multi\nline*', 'multi\nline and more', true],
  ])('glob %j against %j is %s', (pattern, value, expected) => {
    expect(compileGlob(pattern)(value)).toBe(expected);
  });

  it.each([
    ['10 stars, all but the last segment present', `${'*a'.repeat(10)}b`, 'a'.repeat(256), false],
    ['10 stars, one middle segment absent', `a${'*a'.repeat(8)}*c*b`, `${'a'.repeat(255)}b`, false],
    ['10 stars, matching at the very end', `${'*a'.repeat(10)}*b`, `${'a'.repeat(255)}b`, true],
    ['50 stars against 4096 characters', `${'*ab'.repeat(50)}*c`, 'ab'.repeat(2048), false],
    ['a suffix that overlaps the last middle segment', '*aaa*aa', 'aaaa', false],
  ])('answers pathological input without backtracking: %s', (_name, pattern, value, expected) => {
    expect(compileGlob(pattern)(value)).toBe(expected);
  });

  it('agrees with a regex translation on every short pattern and value over a small alphabet', () => {
    const words = (alphabet: readonly string[], max: number): string[] => {
      let level = [''];
      const all = [''];
      for (let n = 1; n <= max; n++) {
        level = level.flatMap((w) => alphabet.map((c) => w + c));
        all.push(...level);
      }
      return all;
    };
    const patterns = words(['a', 'b', '*'], 4);
    const values = words(['a', 'b'], 5);
    let compared = 0;
    for (const p of patterns) {
      const m = compileGlob(p);
      for (const v of values) {
        expect(m(v), `${JSON.stringify(p)} vs ${JSON.stringify(v)}`).toBe(referenceMatch(p, v));
        compared++;
      }
    }
    expect(compared).toBe(121 * 63);
  });
});

describe('compileGlobs', () => {
  it.each([
    [['amazon.nova-*', 'anthropic.*haiku*'], 'amazon.nova-lite-v1:0', true],
    [['amazon.nova-*', 'anthropic.*haiku*'], 'anthropic.claude-3-haiku-20240307-v1:0', true],
    [['amazon.nova-*', 'anthropic.*haiku*'], 'meta.llama3-8b-instruct-v1:0', false],
    ['amazon.nova-*', 'amazon.nova-pro-v1:0', true],
    [[], 'anything', false],
  ] as const)('globs %j against %j is %s', (patterns, value, expected) => {
    expect(compileGlobs(patterns)(value)).toBe(expected);
  });
});
