import { Buffer } from 'node:buffer';
import { parseModelId } from '../../model/model-id.js';
import { asCount, asObject, pick } from '../../usage/json.js';
import { converseStreamEvent, encodeEventStreamMessage, invokeStreamChunk, type EventStreamMessage } from '../event-stream.js';
import { formatFor, type SimUsage } from './formats.js';
import { converseInput, generatedWords, invokeInput } from './tokens.js';

/** A capacity limit; a request over it answers 429 `ThrottlingException`. */
export interface SimulatorCapacity {
  /** Tokens (input + output) per UTC minute. */
  readonly tokensPerMinute?: number;
  /** Requests in flight at once (a stream is in flight until its last event). */
  readonly maxConcurrency?: number;
}

/** Options of the simulator. Everything is optional. */
export interface BedrockSimulatorOptions {
  /** @defaultValue `'127.0.0.1'` */
  readonly host?: string;
  /** @defaultValue `0` (a free port) */
  readonly port?: number;
  /** Delay before a response (or a stream's first event), in ms. @defaultValue `0` */
  readonly latencyMs?: number;
  /** Delay between stream events, in ms. @defaultValue `0` */
  readonly chunkDelayMs?: number;
  /** Tokens generated per call, capped by the request's own max tokens. @defaultValue `64` */
  readonly outputTokens?: number;
  /** Generated words (tokens) per stream event. @defaultValue `4` */
  readonly wordsPerChunk?: number;
  /** Provisioned-model ARNs it serves: the model each one runs, and its capacity. */
  readonly provisioned?: Readonly<Record<string, SimulatorCapacity & { readonly model: string }>>;
  /** Capacity of every on-demand model id (each id has its own). @defaultValue unlimited */
  readonly onDemand?: SimulatorCapacity;
  /** Clock for capacity windows. @defaultValue `Date.now` */
  readonly now?: () => number;
}

/** A request as the simulator sees it. */
export interface SimRequest {
  readonly method: string;
  /** The raw (percent-encoded) path. */
  readonly path: string;
  readonly body: Uint8Array;
}

/** A response: a whole body, or a paced sequence of event-stream frames. */
export interface SimResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array | AsyncIterable<Uint8Array>;
}

/** Per model id (as called) counters. */
export interface SimulatorModelStats {
  requests: number;
  throttled: number;
  inputTokens: number;
  outputTokens: number;
}

/** What the simulator has served, for tests and the demo. */
export interface SimulatorStats {
  requests: number;
  throttled: number;
  readonly byModel: Map<string, SimulatorModelStats>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const ROUTE = /^\/model\/([^/]+)\/(converse|converse-stream|invoke|invoke-with-response-stream|count-tokens)$/;

let requestCounter = 0;

function requestId(): string {
  requestCounter = (requestCounter + 1) % 1_000_000_000;
  return `sim-${Date.now().toString(36)}-${requestCounter.toString(36)}`;
}

function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): SimResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', 'x-amzn-requestid': requestId(), ...headers },
    body: encoder.encode(JSON.stringify(body)),
  };
}

/** Bedrock's error shape: the status, `x-amzn-errortype`, and `{ message }`. */
export function errorResponse(status: number, type: string, message: string): SimResponse {
  return jsonResponse(status, { message }, { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

class CapacityMeter {
  private minute = -1;
  private used = 0;
  active = 0;

  constructor(private readonly capacity: SimulatorCapacity) {}

  /** Takes `tokens` of capacity, or says no. */
  admit(tokens: number, now: number): boolean {
    const minute = Math.floor(now / 60_000);
    if (minute !== this.minute) {
      this.minute = minute;
      this.used = 0;
    }
    const { tokensPerMinute, maxConcurrency } = this.capacity;
    if (maxConcurrency !== undefined && this.active >= maxConcurrency) return false;
    if (tokensPerMinute !== undefined && this.used + tokens > tokensPerMinute) return false;
    this.used += tokens;
    this.active++;
    return true;
  }
}

/**
 * The protocol engine of the local Bedrock simulator: routes Bedrock Runtime REST requests and
 * answers with deterministic usage. Shared by the HTTP server and the in-process handler.
 */
export class SimulatorEngine {
  readonly stats: SimulatorStats = { requests: 0, throttled: 0, byModel: new Map() };
  private readonly meters = new Map<string, CapacityMeter>();
  private readonly cache = new Set<string>();
  private readonly latencyMs: number;
  private readonly chunkDelayMs: number;
  private readonly outputTokens: number;
  private readonly wordsPerChunk: number;
  private readonly now: () => number;

  constructor(private readonly options: BedrockSimulatorOptions = {}) {
    this.latencyMs = options.latencyMs ?? 0;
    this.chunkDelayMs = options.chunkDelayMs ?? 0;
    this.outputTokens = options.outputTokens ?? 64;
    this.wordsPerChunk = Math.max(1, options.wordsPerChunk ?? 4);
    this.now = options.now ?? Date.now;
  }

  private modelStats(modelId: string): SimulatorModelStats {
    let s = this.stats.byModel.get(modelId);
    if (s === undefined) {
      s = { requests: 0, throttled: 0, inputTokens: 0, outputTokens: 0 };
      this.stats.byModel.set(modelId, s);
    }
    return s;
  }

  private meterFor(modelId: string): CapacityMeter | undefined {
    let meter = this.meters.get(modelId);
    if (meter !== undefined) return meter;
    const capacity = this.options.provisioned?.[modelId] ?? this.options.onDemand;
    if (capacity === undefined) return undefined;
    meter = new CapacityMeter(capacity);
    this.meters.set(modelId, meter);
    return meter;
  }

  /** The base model a model id runs, or an error response. */
  private resolveModel(modelId: string): { base: string } | SimResponse {
    const ref = parseModelId(modelId);
    if (ref.kind === 'provisioned-model') {
      const p = this.options.provisioned?.[modelId];
      if (p === undefined) return errorResponse(404, 'ResourceNotFoundException', `Provisioned model ${modelId} not found.`);
      const base = parseModelId(p.model).baseModelId;
      return base === undefined ? errorResponse(400, 'ValidationException', 'The provided model identifier is invalid.') : { base };
    }
    if (ref.baseModelId === undefined) return errorResponse(400, 'ValidationException', 'The provided model identifier is invalid.');
    return { base: ref.baseModelId };
  }

  async handle(request: SimRequest): Promise<SimResponse> {
    const path = request.path.split('?')[0] ?? '';
    const route = ROUTE.exec(path);
    if (request.method !== 'POST' || route === null) return errorResponse(404, 'UnknownOperationException', `No route for ${request.method} ${path}`);
    const [, encodedId = '', action = ''] = route;
    let modelId: string;
    let payload: unknown;
    try {
      modelId = decodeURIComponent(encodedId);
      payload = request.body.byteLength === 0 ? {} : JSON.parse(decoder.decode(request.body));
    } catch {
      return errorResponse(400, 'ValidationException', 'Malformed request: the body must be JSON.');
    }
    this.stats.requests++;
    const stats = this.modelStats(modelId);
    stats.requests++;
    const model = this.resolveModel(modelId);
    if ('status' in model) return model;
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    switch (action) {
      case 'converse':
      case 'converse-stream':
        return this.converse(modelId, model.base, payload, action === 'converse-stream', stats);
      case 'count-tokens':
        return this.countTokens(payload);
      default:
        return this.invoke(modelId, model.base, payload, action === 'invoke-with-response-stream', stats);
    }
  }

  private countTokens(payload: unknown): SimResponse {
    const converse = pick(payload, 'input', 'converse');
    if (converse !== undefined) return jsonResponse(200, { inputTokens: converseInput(converse).tokens });
    const body = pick(payload, 'input', 'invokeModel', 'body');
    if (typeof body === 'string') {
      try {
        return jsonResponse(200, { inputTokens: invokeInput(JSON.parse(Buffer.from(body, 'base64').toString('utf8'))) });
      } catch {
        return errorResponse(400, 'ValidationException', 'input.invokeModel.body must be base64-encoded JSON.');
      }
    }
    return errorResponse(400, 'ValidationException', 'input must have converse or invokeModel.');
  }

  private admit(modelId: string, tokens: number, stats: SimulatorModelStats): SimResponse | CapacityMeter | undefined {
    const meter = this.meterFor(modelId);
    if (meter === undefined || meter.admit(tokens, this.now())) return meter;
    stats.throttled++;
    this.stats.throttled++;
    return errorResponse(429, 'ThrottlingException', 'Too many tokens, please wait before trying again.');
  }

  private converse(modelId: string, base: string, payload: unknown, stream: boolean, stats: SimulatorModelStats): SimResponse {
    if (!Array.isArray(pick(payload, 'messages'))) return errorResponse(400, 'ValidationException', 'messages: required field is missing.');
    const { tokens, cachedPrefixTokens, cacheKey } = converseInput(payload);
    const max = asCount(pick(payload, 'inferenceConfig', 'maxTokens'));
    const output = base.includes('embed') ? 0 : Math.min(this.outputTokens, max ?? Infinity);
    let usage: SimUsage = { input: tokens, output, cacheRead: 0, cacheWrite: 0 };
    if (cacheKey !== undefined) {
      const key = `${base}\u0000${cacheKey}`;
      const hit = this.cache.has(key);
      if (!hit) this.cache.add(key);
      usage = { input: tokens - cachedPrefixTokens, output, cacheRead: hit ? cachedPrefixTokens : 0, cacheWrite: hit ? 0 : cachedPrefixTokens };
    }
    const admitted = this.admit(modelId, tokens + output, stats);
    if (admitted !== undefined && 'status' in admitted) return admitted;
    stats.inputTokens += tokens;
    stats.outputTokens += output;
    const words = generatedWords(output);
    const wireUsage = {
      inputTokens: usage.input,
      outputTokens: usage.output,
      totalTokens: usage.input + usage.output + usage.cacheRead + usage.cacheWrite,
      ...(cacheKey === undefined ? {} : { cacheReadInputTokens: usage.cacheRead, cacheWriteInputTokens: usage.cacheWrite }),
    };
    if (!stream) {
      if (admitted !== undefined) admitted.active--;
      return jsonResponse(200, {
        output: { message: { role: 'assistant', content: [{ text: words.join(' ') }] } },
        stopReason: 'end_turn',
        usage: wireUsage,
        metrics: { latencyMs: this.latencyMs },
      });
    }
    const events: EventStreamMessage[] = [converseStreamEvent('messageStart', { role: 'assistant' })];
    for (let i = 0; i < words.length; i += this.wordsPerChunk)
      events.push(converseStreamEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: words.slice(i, i + this.wordsPerChunk).join(' ') + ' ' } }));
    events.push(converseStreamEvent('contentBlockStop', { contentBlockIndex: 0 }));
    events.push(converseStreamEvent('messageStop', { stopReason: 'end_turn' }));
    events.push(converseStreamEvent('metadata', { usage: wireUsage, metrics: { latencyMs: this.latencyMs } }));
    return this.streamResponse(events, admitted);
  }

  private invoke(modelId: string, base: string, payload: unknown, stream: boolean, stats: SimulatorModelStats): SimResponse {
    const format = formatFor(base);
    if (format === undefined) return errorResponse(400, 'ValidationException', `The simulator does not speak the InvokeModel body format of ${base}; use Converse.`);
    if (asObject(payload) === undefined) return errorResponse(400, 'ValidationException', 'Malformed input request: the body must be a JSON object.');
    if (stream && !format.generates) return errorResponse(400, 'ValidationException', 'The model does not support streaming.');
    const input = invokeInput(payload);
    const output = format.generates ? Math.min(this.outputTokens, format.maxTokens(payload) ?? Infinity) : 0;
    const admitted = this.admit(modelId, input + output, stats);
    if (admitted !== undefined && 'status' in admitted) return admitted;
    stats.inputTokens += input;
    stats.outputTokens += output;
    const usage: SimUsage = { input, output, cacheRead: 0, cacheWrite: 0 };
    const words = generatedWords(output);
    if (!stream) {
      if (admitted !== undefined) admitted.active--;
      return jsonResponse(200, format.body(words, usage), {
        'x-amzn-bedrock-input-token-count': String(input),
        'x-amzn-bedrock-output-token-count': String(output),
        'x-amzn-bedrock-invocation-latency': String(this.latencyMs),
      });
    }
    const chunks = format.chunks(words, usage, this.wordsPerChunk);
    const last = chunks.length - 1;
    const events = chunks.map((c, i) =>
      invokeStreamChunk(
        i === last
          ? { ...(c as object), 'amazon-bedrock-invocationMetrics': { inputTokenCount: input, outputTokenCount: output, invocationLatency: this.latencyMs, firstByteLatency: this.latencyMs } }
          : c,
      ),
    );
    return this.streamResponse(events, admitted);
  }

  private streamResponse(events: readonly EventStreamMessage[], meter: CapacityMeter | undefined): SimResponse {
    const delay = this.chunkDelayMs;
    async function* frames(): AsyncGenerator<Uint8Array> {
      try {
        for (let i = 0; i < events.length; i++) {
          if (i > 0 && delay > 0) await sleep(delay);
          const event = events[i];
          if (event !== undefined) yield encodeEventStreamMessage(event);
        }
      } finally {
        if (meter !== undefined) meter.active--;
      }
    }
    return {
      status: 200,
      headers: { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': requestId() },
      body: frames(),
    };
  }
}
