import { gunzipSync } from 'node:zlib';
import type { Call } from '../call.js';
import { failure, trackerFor, type EndCall, type UsageObserver } from '../pipeline/observe.js';
import { usageFromHeaders } from '../usage/headers.js';
import { parseJsonObject } from '../usage/json.js';
import { MAX_PLAUSIBLE_TOKENS } from '../usage/token-usage.js';
import { EventFrameReader } from './event-frames.js';
import { observeBody } from './observed-body.js';
import { responseError } from './response-error.js';

const SERVICE_TIER_HEADER = 'x-amzn-bedrock-service-tier';

function headerRecord(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, key) => {
    out[key] = value;
  });
  return out;
}

/** The same response with another body of the same bytes (status, headers, URL and redirect flag kept). */
function withBody(original: Response, body: ReadableStream<Uint8Array> | Uint8Array): Response {
  const response = new Response(body, { status: original.status, statusText: original.statusText, headers: original.headers });
  Object.defineProperty(response, 'url', { value: original.url });
  Object.defineProperty(response, 'redirected', { value: original.redirected });
  return response;
}

const decoder = new TextDecoder();
// What is read of a body that is not JSON to estimate its output (past MAX_PLAUSIBLE_TOKENS' worth of text anyway).
const MAX_ESTIMATED_BYTES = 64 * 1024 * 1024;
// A gzip body inflates to at most this for reading usage (a Converse answer is far smaller; a bomb stops here).
const MAX_INFLATED_BYTES = 16 * 1024 * 1024;

/**
 * The body as usage is read from it: as it came or, when it is still gzip (a base fetch that does
 * not decode what it asked compressed: fetch decodes and keeps the header, so the bytes tell),
 * inflated within a bound. Never throws; the caller gets the bytes as they came either way.
 */
function readable(bytes: Uint8Array): Uint8Array {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    return gunzipSync(bytes, { maxOutputLength: MAX_INFLATED_BYTES });
  } catch {
    return bytes;
  }
}

/**
 * Reads usage from a whole (JSON) response: InvokeModel's billed-token headers when they say
 * everything (the response is returned as it came), else the body, read once and handed back
 * as the same bytes in a response like the original (a JSON answer is small, and reading it
 * once is cheaper than teeing it). The call has ended before this resolves, so its record and
 * budget commit are in before `fetch` resolves, as in the SDK path; a body that fails to arrive
 * fails `fetch`, as it fails `send()`. The REST response is handed to the SDK path's observer in
 * the SDK's output shape, so one reader serves both paths.
 */
async function observeWhole(call: Call, response: Response, observer: UsageObserver, endCall: EndCall, signal: AbortSignal | undefined): Promise<Response> {
  const $metadata = { requestId: call.requestId };
  const isInvoke = call.info.delivery === 'invoke';
  const headers = isInvoke ? headerRecord(response.headers) : undefined;
  const serviceTier = response.headers.get(SERVICE_TIER_HEADER) ?? undefined;
  const fromHeaders = usageFromHeaders(headers);
  // The headers do not split cache writes by TTL: only a response that wrote to the cache is read for that.
  // An output count nobody can believe is read too: without a cap, what the body returned is the estimate charged.
  if (fromHeaders !== undefined && (fromHeaders.cacheWriteInputTokens ?? 0) === 0 && (fromHeaders.outputTokens ?? 0) <= MAX_PLAUSIBLE_TOKENS) {
    observer.observe(call, { output: { serviceTier, $metadata }, response: { headers } }, endCall);
    return response;
  }
  // No body (a 204 or 205, say): nothing to read, and no like response could carry one.
  const hasBody = response.body !== null;
  let bytes: Uint8Array;
  try {
    bytes = hasBody ? new Uint8Array(await response.arrayBuffer()) : new Uint8Array(0);
  } catch (error) {
    // Aborted by the caller while the (billed) answer came in: abandoned, charged an estimate, as in the SDK path.
    const f = failure(error, signal);
    endCall(f.outcome, undefined, f.error);
    throw error;
  }
  const plain = readable(bytes);
  if (isInvoke) {
    observer.observe(call, { output: { body: plain, serviceTier, $metadata }, response: { headers } }, endCall);
  } else {
    const json = parseJsonObject(plain);
    // A body that is no JSON object (a proxy's text, one compressed another way) still returned output: its text is what is estimated.
    const output = json === undefined ? { message: { content: [{ text: decoder.decode(plain.subarray(0, MAX_ESTIMATED_BYTES)) }] } } : json.output;
    observer.observe(call, { output: { output, usage: json?.usage, serviceTier: json?.serviceTier ?? serviceTier, performanceConfig: json?.performanceConfig, trace: json?.trace, $metadata } }, endCall);
  }
  return hasBody ? withBody(response, bytes) : response;
}

/**
 * Follows an event-stream response: the caller gets a pass-through body with the same bytes;
 * the frames are decoded on the side into the SDK's event objects and fed to the same usage
 * tracker and stream observer as the SDK path. An exception frame ends the call as failed.
 */
function observeEventStream(call: Call, response: Response, usage: UsageObserver, endCall: EndCall, signal: AbortSignal | undefined): Response {
  const source = response.body;
  if (source === null) {
    endCall('success', undefined, undefined);
    return response;
  }
  const reporter = usage.reporter;
  const observer = usage.streamObserver(call, trackerFor(call), endCall, signal);
  let exception: Error | undefined;
  const frames = new EventFrameReader((frame) => {
    if (frame.kind === 'event') observer.event(frame.event);
    else exception ??= Object.assign(new Error('exception in the response stream'), { name: frame.name });
  });
  const body = observeBody(
    source,
    {
      chunk(bytes) {
        if (call.firstEventAt < 0) call.firstEventAt = performance.now();
        try {
          frames.push(bytes);
        } catch (error) {
          frames.broken = true;
          reporter.error('fetch-stream', 'could not read an event-stream frame for usage', error);
        }
      },
      end(how, error) {
        if (exception !== undefined) observer.end('failed', error ?? exception);
        else observer.end(how, error);
      },
    },
    usage.drains,
  );
  return withBody(response, body);
}

/**
 * Observes a Bedrock response for its call and returns what the caller gets: the response itself
 * (errors, InvokeModel answers whose headers say the usage), the same bytes in a like response
 * once the usage is read (other whole responses), or the same response over a pass-through body
 * (event streams, at once). `endCall` runs once: before this resolves, or when the body ends.
 */
export async function observeResponse(call: Call, response: Response, observer: UsageObserver, endCall: EndCall, signal?: AbortSignal): Promise<Response> {
  call.requestId = response.headers.get('x-amzn-requestid') ?? undefined;
  if (!response.ok) {
    endCall('error', undefined, responseError(response));
    return response;
  }
  if (call.info.streaming) return observeEventStream(call, response, observer, endCall, signal);
  return observeWhole(call, response, observer, endCall, signal);
}
