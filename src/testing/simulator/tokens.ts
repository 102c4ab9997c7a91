import { asObject, pick } from '../../usage/json.js';

/**
 * The simulator's deterministic token rule: a text costs `ceil(characters / 4)` tokens, each
 * message or system block adds 3, and an empty request still costs 1. Output is one token per
 * generated word.
 */
export function tokensOfText(text: string): number {
  return Math.ceil(text.length / 4);
}

const PER_BLOCK = 3;

function textOfContent(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let out = '';
  for (const block of content) {
    const b = asObject(block);
    if (b === undefined) continue;
    if (typeof b.text === 'string') out += b.text;
    else if (typeof pick(b, 'text', 'text') === 'string') out += pick(b, 'text', 'text') as string;
    else if (b.toolResult !== undefined || b.toolUse !== undefined) out += JSON.stringify(b);
  }
  return out;
}

/** Counts the input of a Converse-shaped request (`messages`, `system`), with cache points. */
export function converseInput(request: unknown): { tokens: number; cachedPrefixTokens: number; cacheKey: string | undefined } {
  const r = asObject(request);
  let tokens = 0;
  let cachedPrefixTokens = 0;
  let cacheKey: string | undefined;
  const blocks: unknown[] = [];
  if (Array.isArray(r?.system)) blocks.push(...(r.system as unknown[]).map((s) => ({ content: [s] })));
  if (Array.isArray(r?.messages)) blocks.push(...(r.messages as unknown[]));
  let prefix = '';
  for (const m of blocks) {
    const content = pick(m, 'content');
    const text = textOfContent(content);
    tokens += tokensOfText(text) + PER_BLOCK;
    prefix += text;
    if (Array.isArray(content) && content.some((c) => asObject(c)?.cachePoint !== undefined)) {
      cachedPrefixTokens = tokens;
      cacheKey = prefix;
    }
  }
  return { tokens: Math.max(1, tokens), cachedPrefixTokens, cacheKey };
}

/** Counts the input of an InvokeModel body in any of the formats the simulator speaks. */
export function invokeInput(body: unknown): number {
  const b = asObject(body);
  if (b === undefined) return 1;
  if (Array.isArray(b.messages)) {
    let tokens = 0;
    for (const m of b.messages) tokens += tokensOfText(textOfContent(pick(m, 'content'))) + PER_BLOCK;
    if (typeof b.system === 'string') tokens += tokensOfText(b.system) + PER_BLOCK;
    else if (Array.isArray(b.system)) tokens += tokensOfText(textOfContent(b.system)) + PER_BLOCK;
    return Math.max(1, tokens);
  }
  if (typeof b.inputText === 'string') return Math.max(1, tokensOfText(b.inputText));
  if (typeof b.prompt === 'string') return Math.max(1, tokensOfText(b.prompt));
  return 1;
}

const WORDS = ['lorem', 'ipsum', 'dolor', 'sit', 'amet', 'consectetur', 'adipiscing', 'elit', 'sed', 'do', 'eiusmod', 'tempor'];

/** `n` deterministic words: the simulated completion (one token each). */
export function generatedWords(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(WORDS[i % WORDS.length] ?? 'x');
  return out;
}
