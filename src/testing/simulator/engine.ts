import { asCount, asObject, pick } from '../../usage/json.js';
import { converseStreamEvent, encodeEventStreamMessage, invokeStreamChunk, type EventStreamMessage } from '../event-stream.js';
import { bidirectionalSession } from './bidirectional.js';
import { CapacityMeter } from './capacity.js';
import { formatFor, type SimUsage } from './formats.js';
import { SimulatorQuotas } from './quota.js';
import { countTokensResponse, resolveModel } from './requests.js';
import { errorResponse, eventStreamResponse, jsonResponse, type SimResponse } from './responses.js';
import { converseInput, generatedWords, invokeInput } from './tokens.js';
import type { BedrockSimulatorOptions, SimRequest, SimulatorModelStats, SimulatorStats } from './types.js';

const decoder = new TextDecoder();
const ROUTE = /^\/model\/([^/]+)\/(converse|converse-stream|invoke|invoke-with-response-stream|count-tokens)$/;
const BIDI_ROUTE = /^\/model\/([^/]+)\/invoke-with-bidirectional-stream$/;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The protocol engine of the local Bedrock simulator: routes Bedrock Runtime REST requests and
 * answers with deterministic usage. Shared by the HTTP server and the in-process handler.
 */
export class SimulatorEngine {
  readonly stats: SimulatorStats = { requests: 0, throttled: 0, quotaPeak: 0, byModel: new Map() };
  private readonly meters = new Map<string, CapacityMeter>();
  private readonly cache = new Set<string>();
  private readonly latencyMs: number;
  private readonly chunkDelayMs: number;
  private readonly outputTokens: number;
  private readonly wordsPerChunk: number;
  private readonly now: () => number;
  private readonly quotas: SimulatorQuotas | undefined;

  constructor(private readonly options: BedrockSimulatorOptions = {}) {
    this.latencyMs = options.latencyMs ?? 0;
    this.chunkDelayMs = options.chunkDelayMs ?? 0;
    this.outputTokens = options.outputTokens ?? 64;
    this.wordsPerChunk = Math.max(1, options.wordsPerChunk ?? 4);
    this.now = options.now ?? Date.now;
    this.quotas = options.onDemandQuota === undefined ? undefined : new SimulatorQuotas(options.onDemandQuota, this.now);
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

  /** Counts a request to `modelId` and resolves the model it runs (or answers with an error). */
  private begin(modelId: string): { base: string; stats: SimulatorModelStats } | SimResponse {
    this.stats.requests++;
    const stats = this.modelStats(modelId);
    stats.requests++;
    const model = resolveModel(modelId, this.options.provisioned);
    return 'status' in model ? model : { base: model.base, stats };
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
    const model = this.begin(modelId);
    if ('status' in model) return model;
    const { stats } = model;
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    switch (action) {
      case 'converse':
      case 'converse-stream':
        return this.converse(modelId, model.base, payload, action === 'converse-stream', stats);
      case 'count-tokens':
        return countTokensResponse(payload);
      default:
        return this.invoke(modelId, model.base, payload, action === 'invoke-with-response-stream', stats);
    }
  }

  private throttle(stats: SimulatorModelStats): SimResponse {
    stats.throttled++;
    this.stats.throttled++;
    return errorResponse(429, 'ThrottlingException', 'Too many tokens, please wait before trying again.');
  }

  /** Admits a request against the on-demand quota, then the model's capacity; `end` gives back what it took when it ends. */
  private admit(modelId: string, base: string, tokens: number, reserve: { input: number; max: number | undefined }, usage: SimUsage, stats: SimulatorModelStats): SimResponse | { end: () => void } {
    const quota = this.quotas?.begin(modelId, base, reserve.input, reserve.max);
    if (quota === 'throttled') return this.throttle(stats);
    if (this.quotas !== undefined) this.stats.quotaPeak = this.quotas.peak;
    const meter = this.meterFor(modelId);
    if (meter !== undefined && !meter.admit(tokens, this.now())) {
      quota?.end({ input: 0, cacheWrite: 0, output: 0 });
      return this.throttle(stats);
    }
    return {
      end: () => {
        if (meter !== undefined) meter.active--;
        quota?.end({ input: usage.input, cacheWrite: usage.cacheWrite, output: usage.output });
      },
    };
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
    const admitted = this.admit(modelId, base, tokens + output, { input: tokens, max }, usage, stats);
    if ('status' in admitted) return admitted;
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
      admitted.end();
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
    return this.streamResponse(events, admitted.end);
  }

  private invoke(modelId: string, base: string, payload: unknown, stream: boolean, stats: SimulatorModelStats): SimResponse {
    const format = formatFor(base);
    if (format === undefined) return errorResponse(400, 'ValidationException', `The simulator does not speak the InvokeModel body format of ${base}; use Converse.`);
    if (asObject(payload) === undefined) return errorResponse(400, 'ValidationException', 'Malformed input request: the body must be a JSON object.');
    if (stream && !format.generates) return errorResponse(400, 'ValidationException', 'The model does not support streaming.');
    const input = invokeInput(payload);
    const max = format.maxTokens(payload);
    const output = format.generates ? Math.min(this.outputTokens, max ?? Infinity) : 0;
    const usage: SimUsage = { input, output, cacheRead: 0, cacheWrite: 0 };
    const admitted = this.admit(modelId, base, input + output, { input, max: format.generates ? max : 0 }, usage, stats);
    if ('status' in admitted) return admitted;
    stats.inputTokens += input;
    stats.outputTokens += output;
    const words = generatedWords(output);
    if (!stream) {
      admitted.end();
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
    return this.streamResponse(events, admitted.end);
  }

  private streamResponse(events: readonly EventStreamMessage[], end: () => void): SimResponse {
    const delay = this.chunkDelayMs;
    async function* frames(): AsyncGenerator<Uint8Array> {
      try {
        for (let i = 0; i < events.length; i++) {
          if (i > 0 && delay > 0) await sleep(delay);
          const event = events[i];
          if (event !== undefined) yield encodeEventStreamMessage(event);
        }
      } finally {
        end();
      }
    }
    return eventStreamResponse(frames());
  }

  /** Whether a path is InvokeModelWithBidirectionalStream, whose body must be read as it arrives. */
  static isBidirectional(path: string): boolean {
    return BIDI_ROUTE.test(path.split('?')[0] ?? '');
  }

  /**
   * InvokeModelWithBidirectionalStream (Nova Sonic style, HTTP/2 only in the SDK): answers each
   * prompt of the client's event stream while it is still sending (see `bidirectionalSession`).
   */
  handleBidirectional(path: string, body: AsyncIterable<Uint8Array>): SimResponse {
    const [, encodedId = ''] = BIDI_ROUTE.exec(path.split('?')[0] ?? '') ?? [];
    let modelId: string;
    try {
      modelId = decodeURIComponent(encodedId);
    } catch {
      return errorResponse(400, 'ValidationException', 'The provided model identifier is invalid.');
    }
    const model = this.begin(modelId);
    if ('status' in model) return model;
    const { stats } = model;
    return eventStreamResponse(
      bidirectionalSession(body, this.outputTokens, (added) => {
        stats.inputTokens += added.input;
        stats.outputTokens += added.output;
      }),
    );
  }
}
