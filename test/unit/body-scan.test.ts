import { describe, expect, it } from 'vitest';
import { requestCacheWrites, requestedMaxOutputTokens } from '../../src/budgets/estimate.js';

// The string-based readers these replaced (they decoded byte bodies into a string first): the
// byte-level scan must read every body the same way.
const KEYS = ['max_tokens', 'max_gen_len', 'maxTokenCount', 'max_new_tokens', 'maxTokens', 'max_completion_tokens'];
function referenceCap(text: string): number | undefined {
  for (const key of KEYS) {
    const needle = `"${key}"`;
    for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + needle.length)) {
      if (at !== 0 && text[at - 1] === '\\') continue;
      const m = /^[ \n\t\r]*:[ \n\t\r]*(\d+)/.exec(text.slice(at + needle.length));
      if (m?.[1] !== undefined && m[1].length <= 9) return Number(m[1]);
    }
  }
  return undefined;
}
function referenceCache(text: string): string {
  if (!text.includes('"cache_control"') && !text.includes('"cachePoint"')) return 'none';
  return /"ttl"\s*:\s*"1h"/.test(text) ? '1h' : '5m';
}

function randomBody(seed: number): string {
  let x = seed;
  const rnd = (n: number) => ((x = (x * 1103515245 + 12345) % 2 ** 31), x % n);
  const parts = ['"max_tokens": 256', '"max_gen_len":512', '"maxTokenCount" : 100', '"max_new_tokens":\n 77', '"maxTokens":9', '"max_completion_tokens": 1234567890', '"max_tokens": "x"', '\\"max_tokens\\": 5', '"maximum": 3', '"max"', '"cache_control": {"type": "ephemeral"}', '"cachePoint": {"type": "default"}', '"ttl": "1h"', '"ttl":"5m"', '"text": "héllo ✓ wörld"', '"max_tokens"', ':', '12', ' '];
  let out = '{';
  for (let i = 0, n = rnd(8); i < n; i++) out += `${parts[rnd(parts.length)]},`;
  return `${out}"end": 1}`;
}

describe('InvokeModel body scans (strings and bytes, in place)', () => {
  it('read the output cap and the cache TTL exactly as the string readers did, on 5,000 random bodies', () => {
    for (let seed = 1; seed <= 5_000; seed++) {
      const text = randomBody(seed);
      const cap = referenceCap(text);
      const cache = referenceCache(text);
      for (const body of [text, new TextEncoder().encode(text), Buffer.from(`pad${text}`).subarray(3)]) {
        expect(requestedMaxOutputTokens('InvokeModel', { body }), text).toBe(cap);
        expect(requestCacheWrites('InvokeModel', { body }), text).toBe(cache);
      }
    }
  });

  it('keeps the precedence of the caps: max_tokens first wherever it is, then the others in order', () => {
    expect(requestedMaxOutputTokens('InvokeModel', { body: '{"max_new_tokens": 5, "max_tokens": 7}' })).toBe(7);
    expect(requestedMaxOutputTokens('InvokeModel', { body: '{"maxTokens": 5, "max_gen_len": 6}' })).toBe(6);
    expect(requestedMaxOutputTokens('InvokeModel', { body: '{"max_tokens": 1234567890}' })).toBeUndefined();
    expect(requestedMaxOutputTokens('InvokeModel', { body: new Uint8Array() })).toBeUndefined();
  });
});
