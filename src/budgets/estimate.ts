import type { Call } from '../call.js';
import type { BedrockOperation } from '../record.js';
import { CHARS_PER_TOKEN } from '../usage/heuristic.js';
import { bodyText, firstIntegerKey, hasStringValue } from './body-scan.js';

/** What an estimator is given: the call and the command's input (never logged or stored). */
export interface EstimateRequest {
  readonly operation: BedrockOperation;
  readonly modelId: string;
  readonly baseModelId: string | undefined;
  /** The SDK command input, as the caller built it. */
  readonly input: unknown;
}

/** Returns the input tokens a call will use (cache reads and writes included). */
export type InputEstimator = (request: EstimateRequest) => number | Promise<number>;

export { CHARS_PER_TOKEN };
/** Tokens the heuristic adds per message or system block (role and framing). */
export const TOKENS_PER_MESSAGE = 4;
/** Tokens the heuristic counts for one image block (a ~1.1 megapixel image on Claude). */
export const TOKENS_PER_IMAGE = 1_600;

interface Tally {
  chars: number;
  fixed: number;
}

function walk(value: unknown, t: Tally, depth: number): void {
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
    for (const v of value) walk(v, t, depth + 1);
    return;
  }
  const o = value as Record<string, unknown>;
  if (o.image !== undefined) {
    t.fixed += TOKENS_PER_IMAGE;
    return;
  }
  for (const k in o) if (k !== 'cachePoint') walk(o[k], t, depth + 1);
}

/**
 * The default estimator: `ceil(characters / 3.5)` of every string in the request (messages,
 * system prompt, tool specs and results), plus 4 tokens per message and 1,600 per image. For
 * InvokeModel it is the body's length / 3.5, so a body with base64 media overestimates. Never
 * throws: a getter of the caller's that throws ends the count where it was. A text block counts
 * its text (other keys beside `text` are not sent: the SDK serializes one member of a block).
 */
const NONE: readonly unknown[] = Object.freeze([]);

/** Message content or system blocks: a text block by its text, any other block walked whole. Notes the cache points it passes (at block level, where Converse takes them). */
function walkBlocks(blocks: unknown, t: Tally, found: CacheWrites): CacheWrites {
  if (!Array.isArray(blocks)) {
    walk(blocks, t, 0);
    return found;
  }
  for (const block of blocks as unknown[]) {
    if (typeof block !== 'object' || block === null) {
      walk(block, t, 1);
      continue;
    }
    const b = block as { text?: unknown; image?: unknown; cachePoint?: unknown };
    const point = b.cachePoint;
    if (typeof point === 'object' && point !== null) found = found === '1h' || (point as { ttl?: unknown }).ttl === '1h' ? '1h' : '5m';
    if (b.image === undefined && typeof b.text === 'string') t.chars += b.text.length;
    else walk(block, t, 1);
  }
  return found;
}

/** The heuristic's count of a Converse input, and the cache writes it asks for, in one pass over it. */
function readConverse(input: unknown, t: Tally): CacheWrites {
  const i = input as { messages?: unknown; system?: unknown; toolConfig?: unknown } | undefined;
  let found: CacheWrites = 'none';
  // Per-message tokens are counted as soon as the lists are read (a getter that throws later leaves them counted).
  const messages = i?.messages;
  const ms: readonly unknown[] = Array.isArray(messages) ? (messages as unknown[]) : NONE;
  t.fixed += TOKENS_PER_MESSAGE * ms.length;
  const system = i?.system;
  if (Array.isArray(system)) t.fixed += TOKENS_PER_MESSAGE * system.length;
  for (const m of ms) found = walkBlocks((m as { content?: unknown } | null)?.content, t, found);
  if (Array.isArray(system)) found = walkBlocks(system, t, found);
  const toolConfig = i?.toolConfig;
  walk(toolConfig, t, 0);
  return found === '1h' ? found : cachePointsIn((toolConfig as { tools?: unknown } | null | undefined)?.tools, found);
}

export function heuristicInputTokens(operation: BedrockOperation, input: unknown): number {
  const t: Tally = { chars: 0, fixed: 0 };
  try {
    if (operation === 'InvokeModel' || operation === 'InvokeModelWithResponseStream') {
      const body = (input as { body?: unknown } | undefined)?.body;
      const length = typeof body === 'string' ? body.length : body instanceof Uint8Array ? body.byteLength : 0;
      return Math.ceil(length / CHARS_PER_TOKEN);
    }
    readConverse(input, t);
  } catch {
    // A getter of the caller's that throws: what was counted before it stands (admission still applies).
  }
  return Math.ceil(t.chars / CHARS_PER_TOKEN) + t.fixed;
}

/** What admission reads from a request's input: the heuristic's input tokens and the prompt-cache writes it asks for. */
export interface InputReading {
  readonly tokens: number;
  readonly cache: CacheWrites;
}

/**
 * {@link heuristicInputTokens} and {@link requestCacheWrites} at once: a Converse input is walked
 * once for both (admission needs both for every budgeted call). A getter that throws makes it
 * ask each of them apart, so the answers are theirs exactly.
 */
export function readInput(operation: BedrockOperation, input: unknown): InputReading {
  if (operation !== 'Converse' && operation !== 'ConverseStream') return { tokens: heuristicInputTokens(operation, input), cache: requestCacheWrites(operation, input) };
  const t: Tally = { chars: 0, fixed: 0 };
  try {
    const cache = readConverse(input, t);
    return { tokens: Math.ceil(t.chars / CHARS_PER_TOKEN) + t.fixed, cache };
  } catch {
    return { tokens: heuristicInputTokens(operation, input), cache: requestCacheWrites(operation, input) };
  }
}

// Output caps by body format, in the order they are tried.
const MAX_KEYS = ['max_tokens', 'max_gen_len', 'maxTokenCount', 'max_new_tokens', 'maxTokens', 'max_completion_tokens'] as const;

/**
 * The call's own output cap, read from `input` once: admission and settlement ask for it, and an
 * InvokeModel body is searched once instead of at each (a 400 KB body costs ~20 µs a search).
 */
export function callMaxOutputTokens(call: Call, input: unknown): number | undefined {
  if (call.maxTokensOf === input && input !== undefined) return call.maxTokens;
  const n = requestedMaxOutputTokens(call.info.operation, input);
  call.maxTokensOf = input;
  call.maxTokens = n;
  return n;
}

/** The request's own output cap: Converse `inferenceConfig.maxTokens`, or the InvokeModel body's family field. */
export function requestedMaxOutputTokens(operation: BedrockOperation, input: unknown): number | undefined {
  try {
    return maxOutputTokensOf(operation, input);
  } catch {
    // A getter of the caller's that throws: no cap read (admission reserves the default).
    return undefined;
  }
}

function maxOutputTokensOf(operation: BedrockOperation, input: unknown): number | undefined {
  const i = input as { inferenceConfig?: { maxTokens?: unknown }; body?: unknown } | undefined;
  if (operation === 'Converse' || operation === 'ConverseStream') {
    const max = i?.inferenceConfig?.maxTokens;
    return typeof max === 'number' && max >= 0 ? max : undefined;
  }
  // Without parsing the body (it can be large): every cap's key starts with "max".
  const text = bodyText(i?.body);
  return text === undefined ? undefined : firstIntegerKey(text, 'max', MAX_KEYS);
}

/** Whether a request asks for prompt-cache writes, and with which TTL (one-hour writes cost more). */
export type CacheWrites = 'none' | '5m' | '1h';

/** The cache TTL a list of Converse blocks asks for: `'1h'` if any `cachePoint` says so, `'5m'` for any other, else `'none'`. */
function cachePointsIn(blocks: unknown, found: CacheWrites): CacheWrites {
  if (!Array.isArray(blocks)) return found;
  for (const block of blocks as unknown[]) {
    const point = (block as { cachePoint?: unknown } | null | undefined)?.cachePoint;
    if (typeof point !== 'object' || point === null) continue;
    if ((point as { ttl?: unknown }).ttl === '1h') return '1h';
    found = '5m';
  }
  return found;
}

/**
 * Whether a request may write the prompt cache: Converse `cachePoint` blocks (with their `ttl`),
 * an InvokeModel body with Anthropic's `cache_control` or Nova's `cachePoint`. Such a call's
 * input may be billed at the cache-write rate, so admission prices its estimate there.
 */
export function requestCacheWrites(operation: BedrockOperation, input: unknown): CacheWrites {
  try {
    return cacheWritesOf(operation, input);
  } catch {
    // A getter of the caller's that throws: priced as a cache write, the upper bound.
    return '5m';
  }
}

function cacheWritesOf(operation: BedrockOperation, input: unknown): CacheWrites {
  const i = input as { messages?: unknown; system?: unknown; toolConfig?: unknown; body?: unknown } | undefined;
  if (operation === 'Converse' || operation === 'ConverseStream') {
    // Where Converse takes cache points: system blocks, message content blocks, tools.
    let found = cachePointsIn(i?.system, 'none');
    const messages = i?.messages;
    if (Array.isArray(messages)) for (const m of messages as unknown[]) if (found !== '1h') found = cachePointsIn((m as { content?: unknown } | null | undefined)?.content, found);
    return found === '1h' ? found : cachePointsIn((i?.toolConfig as { tools?: unknown } | null | undefined)?.tools, found);
  }
  const text = bodyText(i?.body);
  if (text === undefined || (text.indexOf('"cache_control"', 0) < 0 && text.indexOf('"cachePoint"', 0) < 0)) return 'none';
  return hasStringValue(text, 'ttl', '1h') ? '1h' : '5m';
}
