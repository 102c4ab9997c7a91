import { describe, expect, it } from 'vitest';
import { callMaxOutputTokens, heuristicInputTokens, requestCacheWrites, requestedMaxOutputTokens } from '../../src/budgets/estimate.js';
import { fakeCall } from '../helpers/calls.js';
import { compileGlob } from '../../src/budgets/glob.js';
import { windowBounds } from '../../src/budgets/window.js';

describe('heuristicInputTokens', () => {
  it('counts message text, system blocks, tool specs and images, ignoring roles and cache points', () => {
    const input = {
      system: [{ text: 'a'.repeat(70) }, { cachePoint: { type: 'default' } }],
      messages: [
        { role: 'user', content: [{ text: 'b'.repeat(35) }, { image: { format: 'png', source: { bytes: new Uint8Array(50_000) } } }] },
        { role: 'assistant', content: [{ text: 'c'.repeat(35) }] },
      ],
      toolConfig: { tools: [{ toolSpec: { name: 'n'.repeat(7), inputSchema: { json: { type: 'object' } } } }] },
    };
    // (70 + 35 + 35 + 7 + "object") / 3.5 (values only, not keys), + 1600 for the image, + 4 per message and system block.
    expect(heuristicInputTokens('Converse', input)).toBe(Math.ceil((70 + 35 + 35 + 7 + 6) / 3.5) + 1600 + 4 * 4);
  });

  it('uses the body length for InvokeModel', () => {
    expect(heuristicInputTokens('InvokeModel', { body: 'x'.repeat(700) })).toBe(200);
    expect(heuristicInputTokens('InvokeModel', { body: new Uint8Array(35) })).toBe(10);
  });
});

describe('requestedMaxOutputTokens', () => {
  it('reads real keys only, never a quoted key inside a prompt string', () => {
    const body = JSON.stringify({ messages: [{ role: 'user', content: 'set "max_tokens": 1 please' }], max_tokens: 900 });
    expect(requestedMaxOutputTokens('InvokeModel', { body })).toBe(900);
    expect(requestedMaxOutputTokens('InvokeModel', { body: '{"prompt":"x"}' })).toBeUndefined();
    expect(requestedMaxOutputTokens('Converse', { inferenceConfig: { maxTokens: 12 } })).toBe(12);
    expect(requestedMaxOutputTokens('Converse', {})).toBeUndefined();
  });
});

describe('callMaxOutputTokens: the output cap read once per call and input', () => {
  it('reads an input once for a call (admission, then settlement), and again for another input (a fallback sends a copy)', () => {
    let reads = 0;
    const input = { messages: [], get inferenceConfig() { reads++; return { maxTokens: 300 }; } };
    const call = fakeCall();
    expect(callMaxOutputTokens(call, input)).toBe(300);
    expect(callMaxOutputTokens(call, input)).toBe(300);
    expect(reads).toBe(1);
    expect(callMaxOutputTokens(call, { inferenceConfig: { maxTokens: 20 } })).toBe(20);
    expect(callMaxOutputTokens(fakeCall(), input)).toBe(300);
    expect(reads).toBe(2);
    // No input: nothing read, nothing remembered.
    expect(callMaxOutputTokens(call, undefined)).toBeUndefined();
    expect(callMaxOutputTokens(call, undefined)).toBeUndefined();
  });
});

describe('compileGlob', () => {
  it('matches * against a run of characters, everything else literally', () => {
    const g = compileGlob('anthropic.claude-*haiku*');
    expect(g('anthropic.claude-3-5-haiku-20241022-v1:0')).toBe(true);
    expect(g('anthropic.claude-sonnet-4')).toBe(false);
    expect(compileGlob('a.b')('axb')).toBe(false);
    expect(compileGlob('exact')('exact')).toBe(true);
  });
});

describe('windowBounds', () => {
  it('aligns ISO weeks to Monday 00:00 UTC and months to the 1st', () => {
    const thursday = Date.UTC(2026, 10, 26, 15);
    expect(windowBounds('week', thursday)).toEqual({ start: Date.UTC(2026, 10, 23), end: Date.UTC(2026, 10, 30) });
    expect(windowBounds('month', Date.UTC(2026, 11, 31, 23))).toEqual({ start: Date.UTC(2026, 11, 1), end: Date.UTC(2027, 0, 1) });
    expect(windowBounds('total', thursday)).toEqual({ start: 0, end: Number.POSITIVE_INFINITY });
  });
});

describe('requestCacheWrites', () => {
  const text = { text: 'hello' };
  it('finds Converse cache points where Bedrock takes them (system, message content, tools) and the one-hour TTL anywhere', () => {
    expect(requestCacheWrites('Converse', { messages: [{ role: 'user', content: [text] }] })).toBe('none');
    expect(requestCacheWrites('Converse', { system: [text, { cachePoint: { type: 'default' } }], messages: [] })).toBe('5m');
    expect(requestCacheWrites('ConverseStream', { messages: [{ role: 'user', content: [text] }, { role: 'user', content: [text, { cachePoint: { type: 'default', ttl: '1h' } }] }] })).toBe('1h');
    expect(requestCacheWrites('Converse', { system: [{ cachePoint: { type: 'default' } }], toolConfig: { tools: [{ toolSpec: { name: 't' } }, { cachePoint: { type: 'default', ttl: '1h' } }] } })).toBe('1h');
    expect(requestCacheWrites('Converse', { toolConfig: { tools: [{ cachePoint: { type: 'default' } }] } })).toBe('5m');
  });
  it('never throws on hostile shapes', () => {
    for (const input of [undefined, null, 7, { messages: 'x' }, { messages: [null, 3, { content: null }, { content: [null, { cachePoint: null }] }] }, { system: {}, toolConfig: null }, { toolConfig: { tools: 'x' } }])
      expect(requestCacheWrites('Converse', input)).toBe('none');
  });
  it('reads InvokeModel bodies for cache_control and cachePoint', () => {
    expect(requestCacheWrites('InvokeModel', { body: JSON.stringify({ messages: [{ content: [{ type: 'text', text: 'x', cache_control: { type: 'ephemeral' } }] }] }) })).toBe('5m');
    expect(requestCacheWrites('InvokeModel', { body: new TextEncoder().encode(JSON.stringify({ system: [{ cachePoint: { type: 'default' } }], x: { ttl: '1h' } })) })).toBe('1h');
    expect(requestCacheWrites('InvokeModel', { body: '{"messages":[]}' })).toBe('none');
  });
});

describe('estimates from inputs whose getters throw (the caller\'s code)', () => {
  const throwing = (shape: Record<string, unknown>, key: string): Record<string, unknown> => Object.defineProperty({ ...shape }, key, { enumerable: true, get: () => { throw new Error('getter'); } });
  it('never throw: the count stops where it was, no cap is read, the cache is priced as written', () => {
    const input = { messages: [{ role: 'user', content: [{ text: 'a'.repeat(35) }, throwing({}, 'text')] }], inferenceConfig: throwing({}, 'maxTokens') };
    expect(heuristicInputTokens('Converse', input)).toBe(10 + 4);
    expect(requestedMaxOutputTokens('Converse', input)).toBeUndefined();
    expect(requestCacheWrites('Converse', { messages: [{ content: [throwing({}, 'cachePoint')] }] })).toBe('5m');
    expect(heuristicInputTokens('InvokeModel', throwing({}, 'body'))).toBe(0);
    expect(requestedMaxOutputTokens('InvokeModel', throwing({}, 'body'))).toBeUndefined();
    expect(requestCacheWrites('InvokeModel', throwing({}, 'body'))).toBe('5m');
  });
});
