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

/** An iterator is its own iterable: reading it (as `new Headers` does) leaves nothing for the base fetch. */
function isOneShot(value: unknown): value is Iterable<[string, string]> {
  if (typeof value !== 'object' || value === null || value instanceof Headers || Array.isArray(value)) return false;
  const iterate = (value as { [Symbol.iterator]?: unknown })[Symbol.iterator];
  return typeof iterate === 'function' && iterate.call(value) === value;
}

/**
 * The method, URL and headers of a fetch call (init wins over a `Request`, as fetch does);
 * `undefined` for a URL fetch would reject. Headers given as a one-shot iterator (a generator)
 * are read into a list once, and the init handed on carries that list: the same headers reach
 * the base fetch, metered or not.
 */
export function outgoingOf(input: string | URL | Request, init: RequestInit | undefined): Outgoing | undefined {
  const request = isRequestLike(input) ? input : undefined;
  let url: URL;
  try {
    url = input instanceof URL ? input : new URL(request !== undefined ? request.url : input);
  } catch {
    return undefined;
  }
  let sent = init;
  if (init !== undefined && isOneShot(init.headers)) sent = { ...init, headers: [...init.headers] };
  const method = sent?.method ?? request?.method ?? 'GET';
  let headers: Headers;
  if (sent?.headers !== undefined) headers = new Headers(sent.headers);
  else if (request === undefined) headers = new Headers();
  else headers = request.headers instanceof Headers ? request.headers : new Headers(request.headers);
  return { input, init: sent, request, method, url, headers };
}

/** The caller's signal (init wins over a `Request`'s), if any. */
export function signalOf(out: Outgoing): AbortSignal | undefined {
  return out.init?.signal ?? out.request?.signal ?? undefined;
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
  if (init !== undefined && 'body' in init && init.body !== undefined) {
    const body = init.body;
    if (body === null) return undefined;
    if (typeof body === 'string') return body;
    if (body instanceof ArrayBuffer) return new Uint8Array(body);
    if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    if (body instanceof Blob) return new Uint8Array(await body.arrayBuffer());
    if (body instanceof URLSearchParams) return body.toString();
    return UNREADABLE;
  }
  const request = out.request;
  if (request !== undefined && request.body !== null) {
    if (request.bodyUsed) return UNREADABLE;
    return new Uint8Array(await request.clone().arrayBuffer());
  }
  return undefined;
}
