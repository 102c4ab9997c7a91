import { Buffer } from 'node:buffer';
import { createHash, createHmac } from 'node:crypto';
import type { SourceData } from '@smithy/types';
import { afterEach } from 'vitest';
import { bedrockFinOps, type BedrockFinOps, type BedrockFinOpsOptions, type UsageRecord } from '../../src/index.js';
import { expectNothingReserved } from './adversary.js';
import { ENDPOINT } from './bedrock.js';

/** The REST URL of a Bedrock Runtime action, the model id percent-encoded as clients send it. */
export function bedrockUrl(modelId: string, action: 'converse' | 'converse-stream' | 'invoke' | 'invoke-with-response-stream', endpoint = ENDPOINT): string {
  return `${endpoint}/model/${encodeURIComponent(modelId)}/${action}`;
}

/** A JSON POST, as fetch-based clients send one. */
export function post(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

/** A Converse request body (what goes on the wire: the SDK input without `modelId`). */
export function converseRequest(text = 'hello', maxTokens = 50): unknown {
  return { messages: [{ role: 'user', content: [{ text }] }], inferenceConfig: { maxTokens } };
}

/** A SigV4 `Authorization` header value scoped to `service` (the signature itself is not checked by anyone here). */
export function sigV4(service = 'bedrock'): string {
  return `AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/${service}/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=${'0'.repeat(64)}`;
}

/** A SigV4a `Authorization` header value scoped to `service`: no region in the scope (it travels in `X-Amz-Region-Set`). */
export function sigV4a(service = 'bedrock'): string {
  return `AWS4-ECDSA-P256-SHA256 Credential=AKIDTEST/20260101/${service}/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-region-set, Signature=${'0'.repeat(140)}`;
}

/** A stream that hands out `bytes` in slices of the given sizes, cycling (frames then span chunks). */
export function sliced(bytes: Uint8Array, sizes: readonly number[]): ReadableStream<Uint8Array> {
  let at = 0;
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.byteLength) {
        controller.close();
        return;
      }
      const size = sizes[i++ % sizes.length] ?? 1;
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

/** Every byte of a body, and the chunks it came in. */
export async function readBody(response: Response): Promise<Uint8Array> {
  return new Uint8Array(await response.arrayBuffer());
}

/** Byte equality with a readable failure. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** A base fetch that answers with `answer` and remembers what it was given. */
export function fakeFetch(answer: (input: string | URL | Request, init: RequestInit | undefined) => Response | Promise<Response>) {
  const calls: { input: string | URL | Request; init: RequestInit | undefined }[] = [];
  const fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    calls.push({ input, init });
    return Promise.resolve(answer(input, init));
  };
  return { fetch, calls };
}

/** Waits until `predicate` holds (polling the event loop), for work that finishes in the background. */
export async function until(predicate: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A plugin recording every call, each estimated at 10 input tokens, against one total budget of `limit` tokens. */
export function totalBudget(options: BedrockFinOpsOptions = {}, limit = 100_000): { finops: BedrockFinOps; records: UsageRecord[] } {
  const records: UsageRecord[] = [];
  const finops = bedrockFinOps({ estimator: () => 10, budgets: [{ name: 'total', limit: { tokens: limit }, window: 'total' }], onUsage: (r) => records.push(r), ...options });
  return { finops, records };
}

/** Tokens the plugin's first budget has used. */
export async function usedTokens(finops: BedrockFinOps): Promise<number> {
  const [status] = await finops.budgets.status();
  return status?.used.tokens ?? 0;
}

/** What the plugin recorded (operation, input, output tokens) and charged, with nothing left reserved. */
export async function outcome(setup: ReturnType<typeof totalBudget>): Promise<{ recorded: (string | number)[][]; charged: number }> {
  await expectNothingReserved(setup.finops);
  return { recorded: setup.records.map((r) => [r.operation, r.inputTokens, r.outputTokens]), charged: await usedTokens(setup.finops) };
}

/** {@link outcome} of one Converse call of 5 input and 20 output tokens, metered; and of nothing metered. */
export const METERED = { recorded: [['Converse', 5, 20]], charged: 25 };
export const NOTHING = { recorded: [], charged: 0 };

/** Puts the global fetch back after each test of the file (tests that meter it replace it). */
export function restoreGlobalFetch(): void {
  const saved = globalThis.fetch;
  afterEach(() => {
    globalThis.fetch = saved;
  });
}

const bytes = (data: SourceData): string | Uint8Array => (typeof data === 'string' ? data : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data));

/** A SHA-256 (HMAC when given a secret) as the SDK's signer takes one. */
export class Sha256 {
  private readonly hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
}
