import { Buffer } from 'node:buffer';
import { types } from 'node:util';

// What fetch reads of a call's `input` and `init` through the caller's code (getters, a proxy, `toString`, iterators), read
// once: the meter and the base fetch then see the same request, however the caller's objects answer a second read.

/** The members of `RequestInit` fetch reads, as a class's getters too. */
const INIT_MEMBERS = ['body', 'cache', 'credentials', 'headers', 'integrity', 'keepalive', 'method', 'mode', 'priority', 'redirect', 'referrer', 'referrerPolicy', 'signal', 'window', 'duplex', 'dispatcher'];

/**
 * A plain copy of `init`, each member read once: its own properties and the members fetch reads
 * (a class instance's getters too). Every call of `copyInit` makes a new object.
 */
export function copyInit(init: RequestInit | undefined): RequestInit {
  if (init === undefined) return {};
  const copy: Record<string, unknown> = { ...init };
  for (const key of INIT_MEMBERS) if (!Object.hasOwn(copy, key) && key in init) copy[key] = (init as Record<string, unknown>)[key];
  if (sentAsText(copy.body)) copy.body = String(copy.body);
  return copy;
}

/**
 * `init` with its headers and a body of bytes (an ArrayBuffer or a view of one) copied: the caller's
 * may be changed while the call waits for admission (a larger `maxTokens`, another service tier than
 * the ones reserved for), and what is sent is what was read. A Buffer stays a Buffer, a DataView a DataView; other views are
 * sent as the same bytes in a Uint8Array.
 */
export function ownBytes(init: RequestInit): RequestInit {
  const headers: unknown = init.headers;
  // Headers too (a service tier set after the call was reserved at another): the same kind, a copy.
  if (headers instanceof Headers) init = { ...init, headers: new Headers(headers) };
  else if (Array.isArray(headers)) init = { ...init, headers: headers.map((pair: unknown) => (Array.isArray(pair) ? [...(pair as string[])] : pair) as string[]) };
  else if (typeof headers === 'object' && headers !== null) init = { ...init, headers: { ...headers } };
  const body: unknown = init.body;
  if (body instanceof ArrayBuffer) return { ...init, body: body.slice(0) };
  if (!ArrayBuffer.isView(body)) return init;
  const bytes = new Uint8Array(body.buffer, body.byteOffset, body.byteLength).slice();
  if (Buffer.isBuffer(body)) return { ...init, body: Buffer.from(bytes.buffer) };
  return { ...init, body: body instanceof DataView ? new DataView(bytes.buffer) : bytes };
}

/**
 * Whether fetch sends `body` as the text of its own `toString` (or `Symbol.toPrimitive`), or of a
 * number: an object that is not bytes, a Blob, form data, URL parameters, a stream or an async
 * iterable is converted with ToString. One with no string of its own (`[object …]`) is no request
 * anyone means, and is left as it is.
 */
export function sentAsText(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return typeof body === 'number' || typeof body === 'boolean' || typeof body === 'bigint';
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body) || body instanceof Blob || body instanceof FormData || body instanceof URLSearchParams || body instanceof ReadableStream) return false;
  const b = body as { toString?: unknown; [Symbol.toPrimitive]?: unknown; [Symbol.asyncIterator]?: unknown };
  if (typeof b[Symbol.asyncIterator] === 'function') return false;
  return typeof b[Symbol.toPrimitive] === 'function' || (typeof b.toString === 'function' && b.toString !== Object.prototype.toString);
}

/** Whether `value` is a plain object (no proxy, no class) whose properties `keys` (all, without) are data, not getters. */
function isPlainData(value: object, keys?: readonly string[]): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  if ((proto !== Object.prototype && proto !== null) || types.isProxy(value)) return false;
  for (const key of keys ?? Object.keys(value)) if (Object.getOwnPropertyDescriptor(value, key)?.get !== undefined) return false;
  return true;
}

/** A value ToString makes the same string of every time (a primitive; an object's `toString` may answer twice). */
const fixed = (value: unknown): boolean => typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol';

/** Whether `list` is a plain array: no proxy, no getters, nothing but its elements (an own iterator is asked by fetch). */
function isPlainArray(list: unknown): list is unknown[] {
  if (!Array.isArray(list) || types.isProxy(list) || Object.getPrototypeOf(list) !== Array.prototype) return false;
  return Reflect.ownKeys(list).every((key) => key === 'length' || (typeof key === 'string' && 'value' in (Object.getOwnPropertyDescriptor(list, key) ?? {})));
}

/**
 * Whether fetch reads `headers` the same however often: this realm's Headers with nothing of its
 * own (an own iterator is what fetch asks), a plain list of plain pairs of fixed values, or a plain
 * record of fixed values. A getter, a proxy, a class, an iterator or a value's `toString` may
 * answer the meter one thing and fetch another.
 */
function steadyHeaders(headers: unknown): boolean {
  if (typeof headers !== 'object' || headers === null || types.isProxy(headers)) return false;
  const proto: unknown = Object.getPrototypeOf(headers);
  if (proto === Headers.prototype) return Reflect.ownKeys(headers).length === 0;
  if (isPlainArray(headers)) return headers.every((pair) => isPlainArray(pair) && pair.every(fixed));
  if (!isPlainData(headers) || Object.getOwnPropertySymbols(headers).length > 0) return false;
  return Object.values(headers).every(fixed);
}

/**
 * Whether `init` reads the same however often it is read: a plain object whose `method`, `headers`
 * and `body` are data, the method a string, its headers steady (see {@link steadyHeaders}).
 */
export function isSteady(init: RequestInit): boolean {
  if (!isPlainData(init, ['method', 'headers', 'body'])) return false;
  if (init.method !== undefined && typeof init.method !== 'string') return false;
  return init.headers === undefined || steadyHeaders(init.headers);
}

/**
 * `headers` read once as fetch reads them, kept of the kind they were given: a record (plain, a
 * class's or a proxy's own enumerable names) as a plain record of strings, its names as written; a
 * list or a one-shot iterator as a list of pairs; anything else iterable (a Headers subclass, another
 * fetch implementation's Headers) as a Headers, so a base fetch that asks `headers.get` still can.
 */
function headersOnce(headers: object): NonNullable<RequestInit['headers']> {
  const iterate: unknown = (headers as { [Symbol.iterator]?: unknown })[Symbol.iterator];
  if (typeof iterate !== 'function') return Object.fromEntries(Object.entries(headers).map(([name, value]: [string, unknown]) => [name, String(value)]));
  const iterator: unknown = iterate.call(headers);
  const list = Array.from({ [Symbol.iterator]: () => iterator as Iterator<unknown> }, (pair) => Array.from(pair as Iterable<unknown>, String));
  return Array.isArray(headers) || iterator === headers ? list : new Headers(list);
}

/** A copy of `init` with each member read once: the method as the string fetch makes of it, the headers as {@link headersOnce} reads them. */
export function readOnce(init: RequestInit): RequestInit {
  const copy = copyInit(init);
  const method = copy.method === undefined ? {} : { method: methodOf(copy.method) };
  const given: unknown = copy.headers;
  const headers = given === undefined || given === null || typeof given !== 'object' ? {} : { headers: headersOnce(given) };
  return { ...copy, ...method, ...headers };
}

/** `value` as fetch converts a method (ToString: an object's `toString`; a symbol throws). */
function methodOf(value: unknown): string {
  if (typeof value === 'symbol') throw new TypeError('a method cannot be a symbol');
  return String(value);
}

/**
 * Whether fetch's ToString of `input` can only be `[object …]` (no URL): an object, not a URL or a
 * proxy, whose `toString` is Object's and that has no `Symbol.toPrimitive`, looked up without
 * running the caller's code.
 */
export function noUrlOf(input: unknown): boolean {
  if (typeof input !== 'object' || input === null || input instanceof URL) return false;
  for (let o: object | null = input; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    if (types.isProxy(o) || Object.hasOwn(o, 'toString') || Object.hasOwn(o, Symbol.toPrimitive)) return false;
  }
  return true;
}

/** `input` as fetch reads a URL (ToString, unless a Request): a string or a URL of its own, as it is; anything else as its string. */
export function urlInput(input: unknown): string | URL {
  if (typeof input === 'string') return input;
  // A URL subclass or an own `toString` is asked by fetch's ToString, not the URL's own href.
  if (input instanceof URL && Object.getPrototypeOf(input) === URL.prototype && Reflect.ownKeys(input).length === 0) return input;
  return String(input);
}
