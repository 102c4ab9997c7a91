import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAmazonBedrock } from '@ai-sdk/amazon-bedrock';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HttpRequest } from '@smithy/types';
import { generateText } from 'ai';
import { AwsClient } from 'aws4fetch';
import { fetch as undiciFetch, Request as UndiciRequest } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedrockFinOps, type UsageRecord } from '../../src/index.js';
import type { FetchFunction } from '../../src/fetch/options.js';
import { converseRequest, Sha256 } from '../helpers/fetch.js';

// Guards for the hand-on of a metered fetch(request): the Request goes to the base fetch with the headers read when the
// call began, as fetch(request, { headers }). A real server (undici on the wire, no msw) checks that what arrives is
// the request the caller made: its whole streamed body, its redirect mode and signal, and a SigV4 signature that
// still verifies (it covers the canonical headers, so a copy that changed a value, its order or case would break it).

const NOVA = 'amazon.nova-micro-v1:0';
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example-secret' };

/** Whether a request's SigV4 signature verifies: signed again over the headers it names, at the time it names. */
async function verifies(req: IncomingMessage, body: string): Promise<boolean> {
  const auth = req.headers.authorization;
  if (auth === undefined) return false;
  const signedHeaders = /SignedHeaders=([^,\s]+)/.exec(auth)?.[1]?.split(';') ?? [];
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) headers[name] = String(req.headers[name] ?? '');
  const date = String(req.headers['x-amz-date'] ?? '');
  const signingDate = new Date(`${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`);
  const [path = '/', search = ''] = (req.url ?? '/').split('?');
  const query = Object.fromEntries(new URLSearchParams(search));
  const request: HttpRequest = { method: req.method ?? 'POST', protocol: 'http:', hostname: '127.0.0.1', path, query, headers, body };
  const signer = new SignatureV4({ service: 'bedrock', region: 'us-east-1', credentials: CREDENTIALS, sha256: Sha256, applyChecksum: false });
  const again = await signer.sign(request, { signingDate });
  return again.headers.authorization === auth;
}

interface Arrived {
  readonly url: string;
  readonly body: string;
  readonly verified: boolean;
}

let server: Server;
let origin = '';
const arrived: Arrived[] = [];
const reply = JSON.stringify({ output: { message: { role: 'assistant', content: [{ text: 'ok' }] } }, stopReason: 'end_turn', usage: { inputTokens: 7, outputTokens: 3, totalTokens: 10 } });

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      void verifies(req, body).catch(() => false).then((verified) => {
        arrived.push({ url: req.url ?? '', body, verified });
        if (req.url?.startsWith('/moved/')) {
          res.writeHead(307, { location: '/elsewhere' });
          res.end();
        } else if (req.url?.startsWith('/slow/')) {
          setTimeout(() => res.end(reply), 5_000).unref();
        } else {
          res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': '0f5e6a1c-3b1d-4c1e-9d2a-7f1e2d3c4b5a' });
          res.end(reply);
        }
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A Request of another fetch implementation, passed where fetch takes a Request (as a caller of that fetch does). */
function foreign(request: unknown): Request {
  return request as Request;
}

function metered() {
  const records: UsageRecord[] = [];
  const finops = bedrockFinOps({ onUsage: (r) => records.push(r) });
  return { finops, records };
}

const url = (prefix = '') => `${origin}${prefix}/model/${encodeURIComponent(NOVA)}/converse`;
const wire = JSON.stringify(converseRequest('hand it on'));

describe('fetch adversarial (8): a metered fetch(request) hands on the request the caller made (guards)', () => {
  it('a SigV4-signed Request (aws4fetch) arrives with a signature that verifies, metered (signed for bedrock: recognised on any host)', async () => {
    const { finops, records } = metered();
    const signed = await new AwsClient({ ...CREDENTIALS, service: 'bedrock', region: 'us-east-1' }).sign(url(), {
      method: 'POST',
      headers: [
        ['content-type', 'application/json'],
        ['X-Custom', 'a'],
        ['x-custom', 'b'],
      ],
      body: wire,
    });
    const unmetered = await fetch(signed.clone());
    await unmetered.text();
    const response = await finops.wrapFetch(fetch)(signed);
    expect(response.status).toBe(200);
    await response.text();
    // Both arrive whole and verified; the metered one is recorded with its tokens. (X-Custom, given twice in two cases, is signed as one value.)
    expect(arrived.slice(-2).map((a) => [a.body, a.verified])).toEqual([
      [wire, true],
      [wire, true],
    ]);
    expect(records.map((r) => [r.operation, r.inputTokens, r.outputTokens])).toEqual([['Converse', 7, 3]]);
  });

  it('the AI SDK’s Bedrock provider through wrapFetch: its signature verifies and the call is metered', async () => {
    const { finops, records } = metered();
    const bedrock = createAmazonBedrock({ region: 'us-east-1', baseURL: origin, ...CREDENTIALS, fetch: finops.wrapFetch(fetch) });
    const result = await generateText({ model: bedrock(NOVA), prompt: 'hi', maxOutputTokens: 20 });
    expect(result.text).toBe('ok');
    expect(arrived.at(-1)?.verified).toBe(true);
    expect(records.map((r) => [r.operation, r.inputTokens, r.outputTokens])).toEqual([['Converse', 7, 3]]);
  });

  it('a Request with a streamed body (duplex: half) arrives whole; one of the undici package through its own fetch too', async () => {
    const { finops, records } = metered();
    const endpoints = { endpoints: [origin] };
    const stream = () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          const encoded = new TextEncoder().encode(wire);
          controller.enqueue(encoded.slice(0, 7));
          controller.enqueue(encoded.slice(7));
          controller.close();
        },
      });
    const init = { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream(), duplex: 'half' } as RequestInit;
    await (await finops.wrapFetch(fetch, endpoints)(new Request(url(), init))).text();
    const other = new UndiciRequest(url(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream(), duplex: 'half' });
    await (await finops.wrapFetch(undiciFetch as unknown as FetchFunction, endpoints)(foreign(other))).text();
    expect(arrived.slice(-2).map((a) => a.body)).toEqual([wire, wire]);
    expect(records.map((r) => [r.inputTokens, r.outputTokens])).toEqual([
      [7, 3],
      [7, 3],
    ]);
  });

  it('a Request’s redirect mode and signal survive the hand-on', async () => {
    const { finops, records } = metered();
    const moved = await finops.wrapFetch(fetch, { endpoints: [`${origin}/moved`] })(new Request(url('/moved'), { method: 'POST', body: wire, redirect: 'manual' }));
    // Not followed: the caller gets the 307 (followed, the server would have seen a second request).
    expect(moved.status).toBe(307);
    const sent = arrived.length;
    const controller = new AbortController();
    const slow = finops.wrapFetch(fetch, { endpoints: [`${origin}/slow`] })(new Request(url('/slow'), { method: 'POST', body: wire, signal: controller.signal }));
    while (arrived.length === sent) await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort();
    await expect(slow).rejects.toMatchObject({ name: 'AbortError' });
    expect(arrived.length).toBe(sent + 1);
    // Recorded: the 307 (an answer that is no usage) and the aborted call, each once.
    expect(records.map((r) => [r.outcome, r.error])).toEqual([
      ['error', '307'],
      ['abandoned', 'AbortError'],
    ]);
  });
});
