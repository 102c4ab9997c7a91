import { Buffer } from 'node:buffer';
import { Readable } from 'node:stream';
import { HttpResponse } from '@smithy/core/transport';
import type { HttpHandlerOptions, HttpRequest, HttpResponse as HttpResponseType, RequestHandler } from '@smithy/types';

/** An SDK request handler (what `BedrockRuntimeClient`'s `requestHandler` option takes). */
export type SimulatorRequestHandler = RequestHandler<HttpRequest, HttpResponseType, HttpHandlerOptions>;
import type { SimulatorEngine } from './engine.js';

async function requestBody(body: unknown): Promise<Uint8Array> {
  if (body === undefined || body === null) return new Uint8Array(0);
  if (typeof body === 'string') return new TextEncoder().encode(body);
  if (body instanceof Uint8Array) return body;
  if (typeof body === 'object' && Symbol.asyncIterator in body) {
    const parts: Uint8Array[] = [];
    for await (const part of body as AsyncIterable<Uint8Array>) parts.push(part);
    return Buffer.concat(parts);
  }
  return new Uint8Array(0);
}

function path(request: HttpRequest): string {
  const query = request.query;
  if (query === undefined || Object.keys(query).length === 0) return request.path;
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) for (const value of Array.isArray(v) ? v : [v]) if (value !== null) qs.append(k, value);
  return `${request.path}?${qs.toString()}`;
}

/** An SDK request handler answered by the simulator engine in-process: no sockets, no HTTP parsing. */
export function simulatorRequestHandler(engine: SimulatorEngine): SimulatorRequestHandler {
  return {
    async handle(request: HttpRequest) {
      const response = await engine.handle({ method: request.method, path: path(request), body: await requestBody(request.body) });
      const body = response.body instanceof Uint8Array ? Readable.from([Buffer.from(response.body)]) : Readable.from(response.body);
      return { response: new HttpResponse({ statusCode: response.status, headers: { ...response.headers }, body }) };
    },
  };
}
