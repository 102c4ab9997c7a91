import { Buffer } from 'node:buffer';

/**
 * A copy of `s` that shares no memory with the string it was cut from. V8 keeps a cut string
 * (`value.slice(0, 128)` of a 1 MB value) as a view of the whole, so a bounded string kept for
 * the life of the process (an interned attribution, a remembered diagnostic key, an error name in
 * a metric series) would hold the megabyte it came from. Exact for any UTF-16, lone surrogates
 * too. For strings that were cut (rare, never a well-formed call's): it copies.
 */
export function detached(s: string): string {
  return Buffer.from(s, 'utf16le').toString('utf16le');
}
