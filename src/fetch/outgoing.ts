import { isSteady, noUrlOf, readOnce, sentAsText, urlInput } from './read-once.js';

/** What a `fetch(input, init)` call is about to send, read without consuming anything. */
export interface Outgoing {
  readonly input: string | URL | Request;
  /** The caller's init, or a copy of it read once (see {@link readRequest}). */
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

/** A fetch call's `input` and `init` as fetch reads them, each read once (see {@link readRequest}). */
export interface ReadRequest {
  readonly input: string | URL | Request;
  readonly init: RequestInit | undefined;
}

/**
 * `input` and `init` as fetch reads them: what fetch converts or reads through the caller's code
 * (a method given as an object, a URL subclass or an object with `toString`, an init with getters
 * or a proxy, headers given as a class, an iterator or values with `toString`) read once, into
 * what the base fetch is handed, metered or not; plain data as it is. Throws what the caller's
 * code threw (fetch's own read would have thrown it).
 */
export function readRequest(given: string | URL | Request, init: RequestInit | undefined): ReadRequest {
  return { input: inputOf(given), init: init === undefined || isSteady(init) ? init : readOnce(init) };
}

/**
 * `given` as fetch reads it: this realm's Request as it is; anything else fetch converts to a string
 * (a URL subclass, an object with `toString`, and a request-like of another fetch implementation
 * too). That one makes `[object Request]`, which is no URL, and is read by its shape (for a base
 * fetch of its own implementation); one whose string is a URL is that URL.
 */
function inputOf(given: string | URL | Request): string | URL | Request {
  // An object fetch can only make `[object …]` of (no URL) is handed on as it is: a base fetch may read it its own way
  // (node-fetch reads a legacy `url.parse()` object's href); to the meter it is no URL.
  if (!isRequestLike(given)) return noUrlOf(given) ? given : urlInput(given);
  if (given instanceof Request) return given;
  const text = String(given);
  return URL.canParse(text) ? text : given;
}

/**
 * The method, URL and headers of a request {@link readRequest} read (init wins over a `Request`,
 * as fetch does); `undefined` for a URL fetch would reject.
 */
export function inspect(read: ReadRequest): Outgoing | undefined {
  const { input, init: sent } = read;
  const request = isRequestLike(input) ? input : undefined;
  let url: URL;
  try {
    // A URL of the caller's own is read now (it may be changed while the call waits for admission).
    url = new URL(input instanceof URL ? input.href : request !== undefined ? fieldOf(request, 'url') : typeof input === 'string' ? input : '');
  } catch {
    return undefined;
  }
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

/** The method, URL and headers of a fetch call, read as {@link readRequest} reads them; `undefined` for a URL fetch would reject. */
export function outgoingOf(given: string | URL | Request, init: RequestInit | undefined): Outgoing | undefined {
  return inspect(readRequest(given, init));
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
