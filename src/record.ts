import type { ModelKind } from './model/model-id.js';
import type { BedrockOperation } from './model/operations.js';

export type { BedrockOperation };



/** Attribution: who spent the tokens. Keys are configuration, values are data. */
export type Attribution = Readonly<Record<string, string>>;

/**
 * Where a record's token counts came from, most to least authoritative.
 * - `usage`: Converse `output.usage` or the ConverseStream `metadata` event (what Bedrock bills).
 * - `headers`: InvokeModel `x-amzn-bedrock-*-token-count` response headers (what Bedrock bills).
 * - `invocation-metrics`: the final stream chunk's `amazon-bedrock-invocationMetrics` (what Bedrock bills).
 * - `body`: the model family's own usage fields (fallback when Bedrock's counts are absent).
 * - `estimate`: Bedrock may have billed the call but its usage never arrived (the caller stopped
 *   or aborted it, its stream broke, or it was dropped unread and the drain could not finish):
 *   token fields hold what the response itself reported where it did, else the admission's input
 *   estimate and the output seen so far. Also a response whose counts were not believed (past
 *   10 million tokens, or output past the request's own cap): those fields are replaced, input by
 *   the admission's estimate, output by the request's cap when it set one, else by what the
 *   response returned. Budgets are charged this, never 0.
 * - `none`: nothing was billed or reported (a call that failed before any response, or a
 *   successful response without usage); token fields are 0.
 * - `unsent`: the call was answered without anything being sent to Bedrock (a middleware below
 *   the plugin answered it itself, e.g. from a response cache), so nothing was billed: token
 *   fields are 0, `costUsd` is 0, and no budget or quota is charged, whatever usage the answer
 *   carries. The outcome is how the call ended for the caller.
 */
export type UsageSource = 'usage' | 'headers' | 'invocation-metrics' | 'body' | 'estimate' | 'none' | 'unsent';

/** Token counts with Bedrock's meaning: `inputTokens` excludes cache reads and writes. */
export interface TokenUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadInputTokens: number;
  readonly cacheWriteInputTokens: number;
}

/** Present on a record when the call was re-routed from a provisioned model to its fallback. */
export interface FallbackInfo {
  /** The model id or ARN the call was first sent to. */
  readonly from: string;
  /** Why it was re-routed: the exception name (e.g. `ThrottlingException`) or `breaker-open`. */
  readonly reason: string;
}

/** One record per metered call, emitted once after the call settles. Never carries prompt or completion text. */
export interface UsageRecord extends TokenUsage {
  /** SDK command name without `Command`, e.g. `Converse`. */
  readonly operation: BedrockOperation;
  /** The model id or ARN exactly as the caller passed it. */
  readonly requestedModelId: string;
  /** The model id or ARN that actually served the call (differs from `requestedModelId` after a fallback). */
  readonly modelId: string;
  /** What kind of id `modelId` is. */
  readonly modelKind: ModelKind;
  /** The foundation model behind `modelId` when it can be known (profile prefix stripped, ARN resolved, `models` option applied). */
  readonly baseModelId: string | undefined;
  /** Merged attribution: plugin defaults, then `withAttribution` scopes, then a per-command override. True values, not the metric-safe ones. */
  readonly attribution: Attribution;
  /** The part of `cacheWriteInputTokens` written with a one-hour TTL (priced higher than five-minute writes). */
  readonly cacheWrite1hInputTokens: number;
  /** The speech part of `inputTokens` / `outputTokens` (Nova Sonic), priced at the model's audio rates; 0 otherwise. */
  readonly speechInputTokens: number;
  readonly speechOutputTokens: number;
  /**
   * The service tier that served the call (`default`, `priority`, `flex`, `reserved`): what the
   * response said, else what the request asked for; `undefined` when neither did.
   */
  readonly serviceTier: string | undefined;
  /** `optimized` when the call was served with latency-optimized inference (priced at those rates), `standard` when it asked for optimized and was not; else `undefined`. */
  readonly performanceLatency: string | undefined;
  /**
   * The output cap the request asked for (Converse `inferenceConfig.maxTokens`, InvokeModel
   * `max_tokens`, `max_gen_len`, …); `undefined` when it set none. Bedrock reserves quota for it
   * at request start: the report compares it with the output calls actually produce.
   */
  readonly maxTokens?: number | undefined;
  /** Where the token counts came from. */
  readonly usageSource: UsageSource;
  /** USD cost of this call; `undefined` when the model's price is unknown. */
  readonly costUsd: number | undefined;
  /**
   * For calls served by provisioned throughput (whose marginal `costUsd` is 0): what the same
   * tokens would have cost on demand, priced as the provisioned model's `model`.
   */
  readonly onDemandEquivalentUsd: number | undefined;
  /** Wall time from send to settle, in milliseconds (for streams: until the stream ended). */
  readonly durationMs: number;
  /** For streams: milliseconds until the first event reached the caller. */
  readonly timeToFirstChunkMs: number | undefined;
  /** Epoch milliseconds at which the call started. */
  readonly startedAt: number;
  /** Present when the call was re-routed to a fallback model. */
  readonly fallback: FallbackInfo | undefined;
  /**
   * How the call ended: `success`; `error` (service error, broken stream: see `error`);
   * `abandoned` (the caller stopped reading a stream early, dropped it unread, or aborted the
   * call with an `AbortSignal` — then `error` is `AbortError`).
   */
  readonly outcome: 'success' | 'error' | 'abandoned';
  /** Exception name when the call failed, or `AbortError` when it was aborted; `undefined` otherwise. */
  readonly error: string | undefined;
  /** The AWS request id, when the response carried one. */
  readonly requestId: string | undefined;
}
