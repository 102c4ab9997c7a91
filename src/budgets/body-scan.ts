import { Buffer } from 'node:buffer';

/**
 * An InvokeModel JSON body as given, searched in place: a string, or bytes searched natively
 * (never decoded into a string: a 400 KB body decoded three times per call cost ~1 ms).
 */
export interface BodyText {
  readonly length: number;
  indexOf(needle: string, from: number): number;
  /** The character (string) or byte at `i`; -1 past the end. */
  code(i: number): number;
}

/** A string body: searched as is. */
class StringBody implements BodyText {
  constructor(private readonly body: string) {}
  get length(): number {
    return this.body.length;
  }
  indexOf(needle: string, from: number): number {
    return this.body.indexOf(needle, from);
  }
  code(i: number): number {
    return i >= 0 && i < this.body.length ? this.body.charCodeAt(i) : -1;
  }
}

/** A byte body: searched natively, never decoded. */
class ByteBody implements BodyText {
  private readonly bytes: Buffer;
  constructor(body: Uint8Array) {
    this.bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  }
  get length(): number {
    return this.bytes.length;
  }
  indexOf(needle: string, from: number): number {
    return this.bytes.indexOf(needle, from, 'latin1');
  }
  code(i: number): number {
    return this.bytes[i] ?? -1;
  }
}

// Classes, not an object of closures: no function objects made per body searched.
export function bodyText(body: unknown): BodyText | undefined {
  if (typeof body === 'string') return new StringBody(body);
  if (body instanceof Uint8Array) return new ByteBody(body);
  return undefined;
}

const QUOTE = 34;
const BACKSLASH = 92;
const COLON = 58;

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13;
}

/** Past the whitespace from `i`. */
function skipSpace(text: BodyText, i: number): number {
  while (isSpace(text.code(i))) i++;
  return i;
}

/** Whether `text` holds `word` at `at`. */
function holds(text: BodyText, at: number, word: string): boolean {
  for (let k = 0; k < word.length; k++) if (text.code(at + k) !== word.charCodeAt(k)) return false;
  return true;
}

/** A quote at `at` that opens a JSON key or string (quotes inside JSON strings are escaped). */
function isRealQuote(text: BodyText, at: number): boolean {
  return at === 0 || text.code(at - 1) !== BACKSLASH;
}

/** The non-negative integer (up to 9 digits) after `"key"` ending at `from`: `: 123`. */
function numberAfter(text: BodyText, from: number): number | undefined {
  let i = skipSpace(text, from);
  if (text.code(i) !== COLON) return undefined;
  i = skipSpace(text, i + 1);
  let n = 0;
  let digits = 0;
  for (let c = text.code(i); c >= 48 && c <= 57; c = text.code(++i)) {
    n = n * 10 + (c - 48);
    if (++digits > 9) return undefined;
  }
  return digits === 0 ? undefined : n;
}

/**
 * The first of `keys` (in their order of precedence) that the body holds as a real key with an
 * integer value. One pass over the body: every key starts with `prefix`.
 */
export function firstIntegerKey(text: BodyText, prefix: string, keys: readonly string[]): number | undefined {
  const found: (number | undefined)[] = [];
  const needle = `"${prefix}`;
  for (let at = text.indexOf(needle, 0); at >= 0; at = text.indexOf(needle, at + needle.length)) {
    if (!isRealQuote(text, at)) continue;
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k] as string;
      if (found[k] !== undefined || !holds(text, at + 1, key) || text.code(at + 1 + key.length) !== QUOTE) continue;
      const n = numberAfter(text, at + key.length + 2);
      if (n === undefined) continue;
      // The first key wins at once; a later one waits in case an earlier one comes further on.
      if (k === 0) return n;
      found[k] = n;
    }
  }
  return found.find((n) => n !== undefined);
}

/** Whether the body holds `"key"` as a real key whose value is the string `value`. */
export function hasStringValue(text: BodyText, key: string, value: string): boolean {
  const needle = `"${key}"`;
  for (let at = text.indexOf(needle, 0); at >= 0; at = text.indexOf(needle, at + needle.length)) {
    if (!isRealQuote(text, at)) continue;
    let i = skipSpace(text, at + needle.length);
    if (text.code(i) !== COLON) continue;
    i = skipSpace(text, i + 1);
    if (text.code(i) === QUOTE && holds(text, i + 1, value) && text.code(i + 1 + value.length) === QUOTE) return true;
  }
  return false;
}
