import { describe, expect, it } from 'vitest';
import { usageFromHeaders } from '../../src/usage/headers.js';
import { asCount } from '../../src/usage/json.js';

// Token counts come from the network (headers, JSON bodies) as decimal integers. `Number()` reads far more than
// that: hexadecimal, binary, octal, exponents, surrounding white space, a sign, a fraction.

describe('asCount: a token count from the network', () => {
  it('reads plain decimal digit strings, leading zeros included, up to 15 digits', () => {
    expect(asCount('0')).toBe(0);
    expect(asCount('12')).toBe(12);
    expect(asCount('007')).toBe(7);
    expect(asCount('999999999999999')).toBe(999_999_999_999_999);
  });

  it('refuses every other string Number() would read: radix prefixes, exponents, white space, signs, fractions, Infinity', () => {
    const loose = ['0x10', '0X10', '0b11', '0o17', '1e3', '1E3', ' 12 ', '12 ', ' 12', '\t12', '12\n', '+12', '-0', '12.0', '1.5', '.5', '5.', 'Infinity', '1_000', '１２'];
    for (const value of loose) expect([value, asCount(value)]).toEqual([value, undefined]);
  });

  it('refuses empty strings, strings of 16 digits or more, and non-digit strings', () => {
    expect(asCount('')).toBeUndefined();
    expect(asCount('1234567890123456')).toBeUndefined();
    expect(asCount('12a')).toBeUndefined();
    expect(asCount('NaN')).toBeUndefined();
  });

  it('reads finite non-negative numbers rounded down (as before), and -0 as 0', () => {
    expect(asCount(0)).toBe(0);
    expect(asCount(12)).toBe(12);
    expect(asCount(12.9)).toBe(12);
    expect(Object.is(asCount(-0), 0)).toBe(true);
    expect(asCount(-1)).toBeUndefined();
    expect(asCount(Number.NaN)).toBeUndefined();
    expect(asCount(Number.POSITIVE_INFINITY)).toBeUndefined();
  });

  it('refuses everything that is neither a number nor a string', () => {
    for (const value of [undefined, null, true, [], {}, [12], 12n]) expect(asCount(value)).toBeUndefined();
  });
});

describe('InvokeModel token headers are read as decimal integers only', () => {
  it('ignores a header written as hexadecimal or with an exponent (it was read as 16 and 1,000 tokens)', () => {
    expect(usageFromHeaders({ 'x-amzn-bedrock-input-token-count': '1e3', 'x-amzn-bedrock-output-token-count': '0x10' })).toBeUndefined();
    expect(usageFromHeaders({ 'x-amzn-bedrock-input-token-count': '12', 'x-amzn-bedrock-output-token-count': ' 3' })).toEqual({
      inputTokens: 12,
      outputTokens: undefined,
      cacheReadInputTokens: undefined,
      cacheWriteInputTokens: undefined,
    });
  });
});

describe('InvokeModel token headers: names in any case, walked at most once', () => {
  const lower = { 'x-amzn-bedrock-input-token-count': '12', 'x-amzn-bedrock-output-token-count': '3', 'content-type': 'application/json' };

  /** `headers` behind a proxy that counts how often its names are listed (a case-insensitive lookup lists them). */
  function counted(headers: Record<string, string>): { headers: Record<string, string>; walks: () => number } {
    let walks = 0;
    const proxy = new Proxy(headers, {
      ownKeys(target) {
        walks++;
        return Reflect.ownKeys(target);
      },
    });
    return { headers: proxy, walks: () => walks };
  }

  it('reads lower-cased names (Node, fetch) without walking the headers, though the cache counts are absent', () => {
    const h = counted(lower);
    expect(usageFromHeaders(h.headers)).toEqual({ inputTokens: 12, outputTokens: 3, cacheReadInputTokens: undefined, cacheWriteInputTokens: undefined });
    // Before: one case-insensitive walk per absent cache header, two per call.
    expect(h.walks()).toBe(0);
  });

  it("reads a handler's own spellings in one walk for all four counts", () => {
    const h = counted({
      'Content-Type': 'application/json',
      'X-Amzn-Bedrock-Input-Token-Count': '120',
      'X-Amzn-Bedrock-Output-Token-Count': '30',
      'X-AMZN-BEDROCK-CACHE-READ-INPUT-TOKEN-COUNT': '7',
      'x-Amzn-bedrock-cache-write-input-token-count': '5',
    });
    expect(usageFromHeaders(h.headers)).toEqual({ inputTokens: 120, outputTokens: 30, cacheReadInputTokens: 7, cacheWriteInputTokens: 5 });
    expect(h.walks()).toBe(1);
  });

  it('reads a count under its lower-case name before another spelling of it, and the first spelling of the rest', () => {
    expect(
      usageFromHeaders({
        'x-amzn-bedrock-input-token-count': '12',
        'X-Amzn-Bedrock-Input-Token-Count': '999',
        'X-Amzn-Bedrock-Output-Token-Count': '3',
        'X-AMZN-BEDROCK-OUTPUT-TOKEN-COUNT': '4',
      }),
    ).toEqual({ inputTokens: 12, outputTokens: 3, cacheReadInputTokens: undefined, cacheWriteInputTokens: undefined });
  });
});
