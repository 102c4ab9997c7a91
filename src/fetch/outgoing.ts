/** What a `fetch(input, init)` call is about to send, read without consuming anything. */
export interface Outgoing {
  readonly input: string | URL | Request;
  readonly init: RequestInit | undefined;
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers;
}

/** The method, URL and headers of a fetch call (init wins over a `Request`, as fetch does); `undefined` for a URL fetch would reject. */
export function outgoingOf(input: string | URL | Request, init: RequestInit | undefined): Outgoing | undefined {
  const request = input instanceof Request ? input : undefined;
  let url: URL;
  try {
    url = input instanceof URL ? input : new URL(request?.url ?? input);
  } catch {
    return undefined;
  }
  const method = init?.method ?? request?.method ?? 'GET';
  const headers = init?.headers !== undefined ? new Headers(init.headers) : (request?.headers ?? new Headers());
  return { input, init, method, url, headers };
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
  if (out.input instanceof Request && out.input.body !== null) {
    if (out.input.bodyUsed) return UNREADABLE;
    return new Uint8Array(await out.input.clone().arrayBuffer());
  }
  return undefined;
}
