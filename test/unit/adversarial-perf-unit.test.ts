// Differential checks of the perf rewrites (#18) against the code they replaced: the fast
// plausibility check, the direct cache-point scan, the fixed-arity pick(), and the two generations
// of committed ids. The old implementations are copied here as oracles.
import { describe, expect, it } from 'vitest';
import { CommittedIds, IDS_KEPT } from '../../src/budgets/committed-ids.js';
import { heuristicInputTokens, readInput, requestCacheWrites, type CacheWrites } from '../../src/budgets/estimate.js';
import { OnceReporter } from '../../src/diagnostics.js';
import { MAX_PLAUSIBLE_TOKENS, withoutImplausible } from '../../src/pipeline/estimate.js';
import { pick } from '../../src/usage/json.js';
import { ConverseStreamUsageTracker } from '../../src/usage/converse-stream-usage.js';
import { tokensForChars } from '../../src/usage/heuristic.js';
import type { ObservedUsage, PartialUsage } from '../../src/usage/token-usage.js';

/** A deterministic PRNG (mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const choose = <T,>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

describe('withoutImplausible: the fast path answers exactly as the full check did', () => {
  const FIELDS = ['inputTokens', 'outputTokens', 'cacheReadInputTokens', 'cacheWriteInputTokens', 'cacheWrite1hInputTokens'] as const;
  const INPUT_SIDE = ['inputTokens', 'cacheReadInputTokens', 'cacheWriteInputTokens'] as const;
  /** The implementation before #18. */
  function before(observed: ObservedUsage, maxOutput?: number): ObservedUsage | undefined {
    let usage: PartialUsage | undefined;
    const drop = (f: (typeof FIELDS)[number]): void => {
      usage ??= { ...observed.usage };
      usage[f] = undefined;
    };
    for (const f of FIELDS) {
      const n = observed.usage[f];
      if (n !== undefined && n > MAX_PLAUSIBLE_TOKENS) drop(f);
    }
    const u = usage ?? observed.usage;
    const inputSide = INPUT_SIDE.reduce((sum, f) => sum + (u[f] ?? 0), 0);
    if (inputSide > MAX_PLAUSIBLE_TOKENS) for (const f of INPUT_SIDE) if (u[f] !== undefined) drop(f);
    const output = u.outputTokens;
    if (maxOutput !== undefined && output !== undefined && output > maxOutput + Math.max(64, Math.ceil(maxOutput * 0.1))) drop('outputTokens');
    return usage === undefined ? undefined : { usage, source: observed.source };
  }

  const M = MAX_PLAUSIBLE_TOKENS;
  // Absurd numbers a hostile or broken response could carry, were they ever to get past asCount().
  const values: (number | undefined)[] = [undefined, 0, 1, 164, M / 2, M / 2 + 1, M - 1, M, M + 1, 2 ** 53, Number.MAX_VALUE, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, -1, -M, 0.5];
  // Not numbers at all (the type says number | undefined; asCount() never lets these through).
  const junk: unknown[] = [null, '5', '20000000', '1e308', true, {}, []];
  const caps: (number | undefined)[] = [undefined, 0, 1, 100, 4096, M, Number.NaN, -5, Number.POSITIVE_INFINITY];

  it('on 20,000 random usages of absurd numbers (NaN, negative, ±Infinity, fractions, 2^53, MAX_VALUE) and caps', () => {
    const r = rng(18);
    const reporter = new OnceReporter();
    for (let i = 0; i < 20_000; i++) {
      const usage = Object.fromEntries(FIELDS.map((f) => [f, choose(r, values)])) as PartialUsage;
      const observed: ObservedUsage = { usage, source: 'usage' };
      const cap = choose(r, caps);
      const now = withoutImplausible(observed, 'm', reporter, cap);
      const then = before(observed, cap);
      if (JSON.stringify(now) !== JSON.stringify(then) || (now === undefined) !== (then === undefined)) expect({ usage, cap, now }).toEqual({ usage, cap, now: then });
    }
  });

  it('never throws on values that are not numbers at all (type-violating usage)', () => {
    const r = rng(7);
    const reporter = new OnceReporter();
    for (let i = 0; i < 5_000; i++) {
      const usage = Object.fromEntries(FIELDS.map((f) => [f, choose(r, [...values, ...junk])])) as PartialUsage;
      expect(() => withoutImplausible({ usage, source: 'usage' }, 'm', reporter, choose(r, caps))).not.toThrow();
    }
  });

  it('the boundaries: exactly the limit is believed, one more is not; an input side of limit + 1 drops every input field', () => {
    const reporter = new OnceReporter();
    expect(withoutImplausible({ usage: { inputTokens: M, outputTokens: 0 }, source: 'usage' }, 'm', reporter)).toBeUndefined();
    expect(withoutImplausible({ usage: { inputTokens: M + 1 }, source: 'usage' }, 'm', reporter)?.usage.inputTokens).toBeUndefined();
    expect(withoutImplausible({ usage: { inputTokens: M, cacheReadInputTokens: 1, outputTokens: 3 }, source: 'usage' }, 'm', reporter)?.usage).toEqual({ inputTokens: undefined, cacheReadInputTokens: undefined, outputTokens: 3 });
    // A one-hour write count is part of the cache writes, not added to the input side again.
    expect(withoutImplausible({ usage: { cacheWriteInputTokens: M, cacheWrite1hInputTokens: M }, source: 'usage' }, 'm', reporter)).toBeUndefined();
    // Output: the cap plus max(64, 10 %).
    expect(withoutImplausible({ usage: { outputTokens: 164 }, source: 'usage' }, 'm', reporter, 100)).toBeUndefined();
    expect(withoutImplausible({ usage: { outputTokens: 165 }, source: 'usage' }, 'm', reporter, 100)?.usage.outputTokens).toBeUndefined();
  });
});

describe('requestCacheWrites: the direct scan answers as the recursive one did, wherever Converse takes cache points', () => {
  /** The implementation before #18. */
  function before(input: unknown): CacheWrites {
    const find = (value: unknown, depth: number, found: { any: boolean; oneHour: boolean }): void => {
      if (depth > 8 || typeof value !== 'object' || value === null) return;
      if (Array.isArray(value)) {
        for (const v of value) find(v, depth + 1, found);
        return;
      }
      const o = value as Record<string, unknown>;
      const point = o.cachePoint;
      if (typeof point === 'object' && point !== null) {
        found.any = true;
        if ((point as { ttl?: unknown }).ttl === '1h') found.oneHour = true;
      }
      for (const k of ['content', 'system', 'messages', 'tools', 'toolConfig', 'toolSpec']) if (o[k] !== undefined) find(o[k], depth + 1, found);
    };
    const i = input as { messages?: unknown; system?: unknown; toolConfig?: unknown } | undefined;
    const found = { any: false, oneHour: false };
    find([i?.system, i?.messages, i?.toolConfig], 0, found);
    return !found.any ? 'none' : found.oneHour ? '1h' : '5m';
  }

  /** A block as the caller could pass it: text, junk, or a cache point of any shape. */
  function block(r: () => number): unknown {
    return choose(r, [
      () => ({ text: 'x' }),
      () => null,
      () => undefined,
      () => 7,
      () => 'str',
      () => [],
      () => ({ cachePoint: null }),
      () => ({ cachePoint: 'default' }),
      () => ({ cachePoint: { type: 'default' } }),
      () => ({ cachePoint: { type: 'default', ttl: '5m' } }),
      () => ({ cachePoint: { type: 'default', ttl: '1h' } }),
      () => ({ cachePoint: { type: 'default', ttl: '1H' } }),
      () => ({ cachePoint: [] }),
      () => ({ toolSpec: { name: 't', inputSchema: { json: {} } } }),
    ])();
  }
  const list = (r: () => number): unknown => choose(r, [() => undefined, () => null, () => 'x', () => ({}), () => Array.from({ length: Math.floor(r() * 5) }, () => block(r))])();
  function converse(r: () => number): unknown {
    return {
      system: list(r),
      messages: choose(r, [() => undefined, () => null, () => 3, () => Array.from({ length: Math.floor(r() * 4) }, () => choose(r, [() => null, () => 5, () => ({ role: 'user' }), () => ({ role: 'user', content: list(r) })])())])(),
      toolConfig: choose(r, [() => undefined, () => null, () => ({}), () => ({ tools: list(r) })])(),
    };
  }

  it('on 20,000 random Converse inputs with junk and cache points in system, message content and tools', () => {
    const r = rng(2024);
    for (let i = 0; i < 20_000; i++) {
      const input = converse(r);
      const now = requestCacheWrites(i % 2 === 0 ? 'Converse' : 'ConverseStream', input);
      if (now !== before(input)) expect({ input, now }).toEqual({ input, now: before(input) });
    }
  });

  it('a one-hour point after thousands of messages is found; holes in a sparse list are skipped', () => {
    const messages: unknown[] = Array.from({ length: 5_000 }, () => ({ role: 'user', content: [{ text: 'x' }] }));
    messages.push({ role: 'user', content: [{ cachePoint: { type: 'default', ttl: '1h' } }] });
    expect(requestCacheWrites('Converse', { messages })).toBe('1h');
    const sparse: unknown[] = [];
    sparse[3] = { cachePoint: { type: 'default' } };
    expect(requestCacheWrites('Converse', { system: sparse })).toBe('5m');
  });
});

describe('readInput: one pass answers as heuristicInputTokens and requestCacheWrites do apart, and as the heuristic did before', () => {
  /** The heuristic before #18's one-pass reading (a text block was walked whole). */
  function heuristicBefore(input: unknown): number {
    const t = { chars: 0, fixed: 0 };
    const walk = (value: unknown, depth: number): void => {
      if (depth > 32) return;
      if (typeof value === 'string') {
        t.chars += value.length;
        return;
      }
      if (typeof value !== 'object' || value === null) return;
      if (value instanceof Uint8Array) {
        t.chars += value.byteLength;
        return;
      }
      if (Array.isArray(value)) {
        for (const v of value) walk(v, depth + 1);
        return;
      }
      const o = value as Record<string, unknown>;
      if (o.image !== undefined) {
        t.fixed += 1_600;
        return;
      }
      for (const k in o) if (k !== 'cachePoint') walk(o[k], depth + 1);
    };
    const i = input as { messages?: unknown; system?: unknown; toolConfig?: unknown } | undefined;
    let messages: readonly unknown[] = [];
    let system: readonly unknown[] = [];
    try {
      if (Array.isArray(i?.messages)) messages = i.messages as unknown[];
      if (Array.isArray(i?.system)) system = i.system as unknown[];
      for (const m of messages) walk((m as { content?: unknown } | null)?.content, 0);
      walk(system, 0);
      walk(i?.toolConfig, 0);
    } catch {
      // as the heuristic: what was counted stands
    }
    return Math.ceil(t.chars / 3.5) + t.fixed + 4 * (messages.length + system.length);
  }

  /** A getter that throws, as hostile request data may carry. */
  const throwing = (key: string): unknown =>
    Object.defineProperty({}, key, {
      enumerable: true,
      get() {
        throw new Error('no');
      },
    });

  function block(r: () => number): unknown {
    return choose(r, [
      () => ({ text: 'x'.repeat(Math.floor(r() * 40)) }),
      () => ({ text: 'héllo' }),
      () => ({ image: { format: 'png', source: { bytes: new Uint8Array(10) } } }),
      () => ({ text: 'a', image: { format: 'png' } }),
      () => ({ document: { name: 'd', source: { bytes: new Uint8Array(33) } } }),
      () => ({ toolResult: { toolUseId: 't', content: [{ text: 'result text' }, { json: { a: 'bb', n: 3 } }] } }),
      () => ({ toolUse: { toolUseId: 'u', name: 'f', input: { q: 'query' } } }),
      () => ({ text: 7 }),
      () => null,
      () => 'bare string',
      () => new Uint8Array(9),
      () => [],
      () => ({ cachePoint: null }),
      () => ({ cachePoint: { type: 'default' } }),
      () => ({ cachePoint: { type: 'default', ttl: '1h' } }),
      () => ({ cachePoint: 'default' }),
      () => ({ toolSpec: { name: 'tool', inputSchema: { json: { type: 'object', properties: { text: { type: 'string' } } } } } }),
    ])();
  }
  const list = (r: () => number): unknown => choose(r, [() => undefined, () => null, () => 'sys', () => ({ text: 'obj' }), () => Array.from({ length: Math.floor(r() * 5) }, () => block(r))])();
  function converse(r: () => number): unknown {
    return {
      system: list(r),
      messages: choose(r, [() => undefined, () => null, () => 3, () => Array.from({ length: Math.floor(r() * 4) }, () => choose(r, [() => null, () => 5, () => ({ role: 'user' }), () => ({ role: 'user', content: list(r) }), () => ({ role: 'user', content: 'plain' })])())])(),
      toolConfig: choose(r, [() => undefined, () => null, () => ({}), () => ({ tools: list(r), toolChoice: { auto: {} } })])(),
    };
  }

  it('on 20,000 random Converse inputs: the same tokens and cache writes as the two functions, and as before for text blocks without other keys', () => {
    const r = rng(7);
    for (let i = 0; i < 20_000; i++) {
      const input = converse(r);
      const op = i % 2 === 0 ? 'Converse' : 'ConverseStream';
      const read = readInput(op, input);
      const apart = { tokens: heuristicInputTokens(op, input), cache: requestCacheWrites(op, input) };
      if (read.tokens !== apart.tokens || read.cache !== apart.cache) expect({ input, read }).toEqual({ input, read: apart });
      // Every generated text block is text only (or carries an image, walked as before): the old count holds.
      const old = heuristicBefore(input);
      if (apart.tokens !== old) expect({ input, tokens: apart.tokens }).toEqual({ input, tokens: old });
    }
  });

  it('a text block counts its text only (keys beside it are not sent); an image beside a text counts as the image', () => {
    const input = { messages: [{ role: 'user', content: [{ text: 'a'.repeat(7), extra: 'b'.repeat(700) }, { text: 'c', image: {} }] }] };
    expect(readInput('Converse', input).tokens).toBe(Math.ceil(7 / 3.5) + 1_600 + 4);
    expect(heuristicInputTokens('Converse', input)).toBe(Math.ceil(7 / 3.5) + 1_600 + 4);
  });

  it('getters that throw: the one pass answers exactly as the two functions apart (a throw anywhere makes it ask them)', () => {
    const inputs: unknown[] = [
      { messages: [{ role: 'user', content: [{ text: 'x'.repeat(35) }, throwing('text')] }], system: [{ cachePoint: { type: 'default', ttl: '1h' } }] },
      { messages: [{ role: 'user', content: [throwing('cachePoint')] }] },
      { messages: [throwing('content'), { role: 'user', content: [{ text: 'y' }] }] },
      Object.defineProperty({ messages: [{ content: [{ text: 'z' }] }] }, 'system', { get: () => { throw new Error('no'); } }),
      { toolConfig: throwing('tools') },
      { system: [{ text: 's' }], toolConfig: { tools: [{ cachePoint: { type: 'default' } }], toolChoice: throwing('auto') } },
    ];
    for (const input of inputs) expect(readInput('Converse', input)).toEqual({ tokens: heuristicInputTokens('Converse', input), cache: requestCacheWrites('Converse', input) });
    // And InvokeModel reads the body as the two functions do.
    const body = JSON.stringify({ max_tokens: 5, messages: [{ content: [{ type: 'text', text: 'x', cache_control: { type: 'ephemeral', ttl: '1h' } }] }] });
    expect(readInput('InvokeModel', { body })).toEqual({ tokens: heuristicInputTokens('InvokeModel', { body }), cache: '1h' });
  });
});

describe('pick(): fixed arity reads as the variadic one did', () => {
  function before(value: unknown, ...path: readonly string[]): unknown {
    let current: unknown = value;
    for (const key of path) {
      if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
      current = (current as Record<string, unknown>)[key];
    }
    return current;
  }
  const o = { a: { b: { c: { d: 1, e: [1] }, arr: [{ x: 1 }] }, n: null, s: 'str' }, arr: [{ a: 1 }], zero: 0 };
  const nullProto = Object.assign(Object.create(null) as object, { a: { b: 2 } });
  it.each([
    [o, ['a']],
    [o, ['a', 'b']],
    [o, ['a', 'b', 'c']],
    [o, ['a', 'b', 'c', 'd']],
    [o, ['a', 'b', 'c', 'e']],
    [o, ['a', 'b', 'arr', '0']],
    [o, ['arr', '0']],
    [o, ['a', 'n', 'x']],
    [o, ['a', 's', 'length']],
    [o, ['zero', 'x']],
    [o, ['missing', 'x', 'y', 'z']],
    [nullProto, ['a', 'b']],
    [null, ['a']],
    [[{ a: 1 }], ['0']],
    ['str', ['length']],
  ])('%j at %j', (value, path) => {
    const [a, b, c, d] = path as [string, string?, string?, string?];
    expect(pick(value, a, b, c, d)).toEqual(before(value, ...path));
  });
});

describe('CommittedIds: two generations', () => {
  it(`remembers at least the last ${IDS_KEPT} ids after every add, and at most ${2 * IDS_KEPT}`, () => {
    const ids = new CommittedIds();
    const n = 4 * IDS_KEPT + 3;
    const checkpoints = new Set([1, IDS_KEPT - 1, IDS_KEPT, IDS_KEPT + 1, 2 * IDS_KEPT - 1, 2 * IDS_KEPT, 2 * IDS_KEPT + 1, 3 * IDS_KEPT, n]);
    for (let i = 1; i <= n; i++) {
      ids.add(`id${i}`);
      if (!checkpoints.has(i)) continue;
      let remembered = 0;
      for (let j = Math.max(1, i - IDS_KEPT + 1); j <= i; j++) if (ids.has(`id${j}`)) remembered++;
      expect(remembered).toBe(Math.min(i, IDS_KEPT));
      let total = 0;
      for (let j = 1; j <= i; j++) if (ids.has(`id${j}`)) total++;
      expect(total).toBeLessThanOrEqual(2 * IDS_KEPT);
    }
  });

  it('an id added again is still remembered; an unknown id never is', () => {
    const ids = new CommittedIds();
    for (let i = 0; i < 3 * IDS_KEPT; i++) ids.add(i % 10 === 0 ? 'again' : `id${i}`);
    expect(ids.has('again')).toBe(true);
    expect(ids.has('')).toBe(false);
    expect(ids.has('__proto__')).toBe(false);
  });
});

describe('ConverseStream deltas: named reads count what the path reader counted', () => {
  /** The count before (#18, this round): three path reads per delta. */
  const before = (delta: unknown): number => {
    const len = (v: unknown): number => (typeof v === 'string' ? v.length : 0);
    return len(pick(delta, 'text')) + len(pick(delta, 'toolUse', 'input')) + len(pick(delta, 'reasoningContent', 'text'));
  };
  const parts: unknown[] = [undefined, null, 'abc', '', 7, [], ['x'], {}, { input: 'xy' }, { text: 'xyz' }, { input: ['no'] }, { text: { no: 1 } }];

  it('on 5,000 random deltas, junk and arrays included: the same characters, so the same output estimate', () => {
    const r = rng(21);
    for (let i = 0; i < 5_000; i++) {
      const delta: unknown = r() < 0.1 ? choose(r, parts) : { text: choose(r, parts), toolUse: choose(r, parts), reasoningContent: choose(r, parts) };
      const tracker = new ConverseStreamUsageTracker();
      tracker.add({ contentBlockDelta: { delta } });
      tracker.add({ contentBlockDelta: { delta } });
      expect([delta, tracker.outputSeen()]).toEqual([delta, tokensForChars(2 * before(delta))]);
    }
  });
});
