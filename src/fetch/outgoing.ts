import { types } from 'node:util';

/** What a `fetch(input, init)` call is about to send, read without consuming anything. */
export interface Outgoing {
  readonly input: string | URL | Request;
  /** The caller's init, or a copy whose one-shot `headers` iterator was read into a list (see {@link outgoingOf}). */
  readonly init: RequestInit | undefined;
  /** `input` when it is a Request: this realm's or another's (undici's package, node-fetch), told by its shape. */
  readonly request: Request | undefined;
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers;
}

/** Whether `input` is a `Request`, of this realm or a fetch implementation's own (`instanceof` misses those). */
export function isRequestLike(input: unknown): input is Request {
  if (input instanceof Request) return true;
  if (typeof input !== 'object' || input === null || input instanceof URL) return false;
  const r = input as Partial<Record<keyof Request, unknown>>;
  return typeof r.url === 'string' && typeof r.method === 'string' && typeof r.clone === 'function' && typeof r.headers === 'object' && r.headers !== null;
}

/**
 * A field of a Request as fetch reads it: this realm's through `Request.prototype` (fetch reads the
 * request's internal state, which a subclass's getter or an own property cannot change); another
 * realm's as it says.
 */
export function fieldOf<K extends 'url' | 'method' | 'headers' | 'body' | 'bodyUsed' | 'signal'>(request: Request, key: K): Request[K] {
  if (!ofThisRealm(request)) return request[key];
  const value: unknown = Reflect.get(Request.prototype, key, request);
  return value as Request[K];
}

/** A copy of a Request's body, read as fetch would send it (a subclass's `clone` is not asked). */
export function cloneOf(request: Request): Request {
  return ofThisRealm(request) ? Request.prototype.clone.call(request) : request.clone();
}

/** Whether `request` is this realm's (a request-like of another fetch implementation is not). */
function ofThisRealm(request: Request): boolean {
  return request instanceof Request;
}

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

/** Whether `value` is a plain object (no proxy, no class) whose properties `keys` (all, without) are data, not getters. */
function isPlainData(value: object, keys?: readonly string[]): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  if ((proto !== Object.prototype && proto !== null) || types.isProxy(value)) return false;
  for (const key of keys ?? Object.keys(value)) if (Object.getOwnPropertyDescriptor(value, key)?.get !== undefined) return false;
  return true;
}

/**
 * Whether `init` reads the same however often it is read: a plain object whose `method`, `headers`
 * and `body` are data, the method a string, and its headers a Headers, a list or a plain record (a
 * getter, a class's, a proxy or an iterator may answer the meter one thing and fetch another).
 */
function isSteady(init: RequestInit): boolean {
  if (!isPlainData(init, ['method', 'headers', 'body'])) return false;
  if (init.method !== undefined && typeof init.method !== 'string') return false;
  const headers: unknown = init.headers;
  if (headers === undefined) return true;
  if (typeof headers !== 'object' || headers === null || types.isProxy(headers)) return false;
  // Fetch reads a Headers, a list, or any object with an iterator through that iterator (a subclass's may answer twice).
  const proto: unknown = Object.getPrototypeOf(headers);
  if (proto === Headers.prototype || proto === Array.prototype) return true;
  return typeof (headers as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function' && isPlainData(headers);
}

/** A copy of `init` with each member read once: the method as the string fetch makes of it, the headers as a list. */
function readOnce(init: RequestInit): RequestInit {
  const copy = copyInit(init);
  const method = copy.method === undefined ? {} : { method: methodOf(copy.method) };
  const headers = copy.headers === undefined ? {} : { headers: [...new Headers(copy.headers)] };
  return { ...copy, ...method, ...headers };
}

/** `value` as fetch converts a method (ToString: an object's `toString`; a symbol throws). */
function methodOf(value: unknown): string {
  if (typeof value === 'symbol') throw new TypeError('a method cannot be a symbol');
  return String(value);
}

/** `input` as fetch reads a URL (ToString, unless a Request): a string or a URL of its own, as it is; anything else as its string. */
function urlInput(input: unknown): string | URL {
  if (typeof input === 'string') return input;
  // A URL subclass or an own `toString` is asked by fetch's ToString, not the URL's own href.
  if (input instanceof URL && Object.getPrototypeOf(input) === URL.prototype && Reflect.ownKeys(input).length === 0) return input;
  return String(input);
}

/**
 * The method, URL and headers of a fetch call (init wins over a `Request`, as fetch does);
 * `undefined` for a URL fetch would reject. What fetch converts or reads through getters (a method
 * given as an object, a URL subclass or an object with `toString`, an init with getters, headers
 * given as a one-shot iterator) is read once, and the input and init handed on carry what was
 * read: the same request reaches the base fetch, metered or not.
 */
export function outgoingOf(given: string | URL | Request, init: RequestInit | undefined): Outgoing | undefined {
  const request = isRequestLike(given) ? given : undefined;
  const input = request ?? urlInput(given);
  let url: URL;
  try {
    url = input instanceof URL ? input : new URL(request !== undefined ? fieldOf(request, 'url') : input);
  } catch {
    return undefined;
  }
  const sent = init === undefined || isSteady(init) ? init : readOnce(init);
  const method = sent?.method ?? (request === undefined ? 'GET' : fieldOf(request, 'method'));
  let headers: Headers;
  if (sent?.headers !== undefined) headers = new Headers(sent.headers);
  else if (request === undefined) headers = new Headers();
  else {
    const own = fieldOf(request, 'headers');
    headers = own instanceof Headers ? own : new Headers(own);
  }
  return { input, init: sent, request, method, url, headers };
}

/** The caller's signal (init wins over a `Request`'s), if any. */
export function signalOf(out: Outgoing): AbortSignal | undefined {
  return out.init?.signal ?? (out.request === undefined ? undefined : fieldOf(out.request, 'signal')) ?? undefined;
}

/**
 * What the caller asked of fetch besides the request itself — a `dispatcher`, `redirect`,
 * `keepalive`… — for a request re-addressed to another model: `undefined` when there is nothing.
 */
export function sendOptions(out: Outgoing): RequestInit | undefined {
  if (out.init === undefined) return undefined;
  const { method: _method, headers: _headers, body: _body, signal: _signal, ...rest } = out.init;
  return Object.keys(rest).length === 0 ? undefined : rest;
}

/** A body that can be read for an estimate and sent again (spill); `undefined` when there is none. */
export type ReplayableBody = string | Uint8Array;

/** Marks a body that can only be read once (a stream, form data): sent as it is, never read. */
export const UNREADABLE: unique symbol = Symbol('unreadable body');

/** A request body as the fetch path knows it: replayable, none, or {@link UNREADABLE}. */
export type RequestBody = ReplayableBody | undefined | typeof UNREADABLE;

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

/** The request body, read without consuming the caller's. */
export async function bodyOf(out: Outgoing): Promise<RequestBody> {
  const init = out.init;
  // An init's `body: null` is no body of its own: a Request's is sent (fetch takes init's body only when it is non-null).
  const body = init?.body;
  if (body !== undefined && body !== null) {
    if (typeof body === 'string') return body;
    if (body instanceof ArrayBuffer) return new Uint8Array(body);
    if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    // A Blob's own bytes, as fetch sends them (a subclass's `arrayBuffer` is not asked).
    if (body instanceof Blob) return new Uint8Array(await Blob.prototype.arrayBuffer.call(body));
    if (body instanceof URLSearchParams) return body.toString();
    const other: unknown = body;
    return sentAsText(other) ? String(other) : UNREADABLE;
  }
  const request = out.request;
  if (request !== undefined && fieldOf(request, 'body') !== null) {
    if (fieldOf(request, 'bodyUsed')) return UNREADABLE;
    return new Uint8Array(await cloneOf(request).arrayBuffer());
  }
  return undefined;
}
