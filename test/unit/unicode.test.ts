import { describe, expect, it } from 'vitest';
import { terminalSafe, textTable } from '../../src/report/text-table.js';
import { sliceWhole } from '../../src/unicode.js';

describe('sliceWhole', () => {
  it('keeps a string within the bound as it is, and cuts a longer one at the bound', () => {
    expect(sliceWhole('abc', 3)).toBe('abc');
    expect(sliceWhole('abcd', 3)).toBe('abc');
  });

  it('never keeps half a surrogate pair: a pair across the bound is left out whole', () => {
    // 'ab' then U+1F600 (two units): a cut at 3 would keep its high half alone.
    expect(sliceWhole('ab\u{1F600}', 3)).toBe('ab');
    expect(sliceWhole('ab\u{1F600}c', 4)).toBe('ab\u{1F600}');
    expect(sliceWhole('\u{1F600}'.repeat(3), 5)).toBe('\u{1F600}'.repeat(2));
  });
});

describe('a text table label past 64 characters', () => {
  it('ends in … without half a surrogate pair, whatever the pair falls on', () => {
    for (const pad of [61, 62, 63]) {
      const value = `${'x'.repeat(pad)}${'\u{1F600}'.repeat(4)}`;
      const [, , row] = textTable(['team'], [[value]]).split('\n');
      expect(row).toBeDefined();
      expect(row!.endsWith('…')).toBe(true);
      expect(row!.length).toBeLessThanOrEqual(64);
      // Well-formed: no lone surrogate.
      expect(row).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
      expect(terminalSafe(row!)).toBe(row);
    }
  });
});
