import type { GenAiOperationName } from './model/gen-ai-operation.js';
import type { ResolvedModel } from './model/model-resolver.js';
import type { OperationInfo } from './model/operations.js';
import type { RateCard } from './pricing/rate-card.js';
import type { Attribution, FallbackInfo, UsageRecord } from './record.js';

/** A model id resolved for pricing and extraction. */
export type CallModel = ResolvedModel<RateCard | undefined>;

/**
 * One metered operation, as plain data. `begin` fills the first part; routing may change what is
 * sent (`modelId`, `model`, `fallback`); sending and observing fill in the endpoint, request id and
 * service tier. Nothing in it reaches back into the plugin, and no sink ever sees it: sinks get
 * the {@link Settlement}.
 */
export interface Call {
  readonly info: OperationInfo;
  /** The model id or ARN as the caller passed it. */
  readonly requestedModelId: string;
  readonly attribution: Attribution;
  /** Epoch ms at start. */
  readonly startedAt: number;
  /** `performance.now()` at start. */
  readonly t0: number;
  /** The model id being (or that was) sent; changes on fallback. */
  modelId: string;
  model: CallModel;
  fallback: FallbackInfo | undefined;
  /** The endpoint the call went to, once known. */
  serverAddress: string | undefined;
  serverPort: number;
  requestId: string | undefined;
  /** The service tier the request asked for, replaced by the one the response reports. */
  serviceTier: string | undefined;
  /** `performanceConfig.latency` the request asked for, replaced by what the response reports. */
  performanceLatency: string | undefined;
  /** `performance.now()` when the first stream event reached the caller; -1 before. */
  firstEventAt: number;
  /**
   * Where its HTTP attempts stand: `none` (no attempt reached the per-attempt hook), `offered` (one
   * did, but the caller's signal had fired, so a request handler that honours it sent nothing),
   * `in-flight` (a request went out and no answer came back yet), `answered` (the last attempt got
   * a response). A call aborted while `in-flight` may have been billed; one aborted before sending,
   * or after an answer, was not. Only a call still at `none` was surely answered without a request.
   */
  attempt: 'none' | 'offered' | 'in-flight' | 'answered';
  /** Set once the call has settled: every later attempt to settle it is ignored. */
  settled: boolean;
  /** The input {@link maxTokens} was read from (see `callMaxOutputTokens`); `undefined` before. */
  maxTokensOf: unknown;
  /** The request's own output cap, read once from {@link maxTokensOf}. */
  maxTokens: number | undefined;
}

/** Where the call travels on the SDK's per-call handler context, so the per-attempt hook can mark it. */
export const CALL_KEY = Symbol.for('bedrock-finops.call');

/**
 * Which plugin instances a call's middleware stack carries, marked on the SDK's per-call handler
 * context by each instance's per-attempt hook when the SDK builds the call's handler chain (so
 * before any handler runs). The hooks have a name per instance, so both survive where metering
 * middlewares (one shared name) replace each other: on a stack that carries two instances (one
 * on the client, one on a command) only one meters, and it refuses the call, since the other's
 * budgets would not apply. Marking costs no handler and no stack entry of its own.
 */
const INSTANCES = Symbol.for('bedrock-finops.instances');
/** The mark of a context two instances passed. */
const TWO_INSTANCES = -1;
/** The last instance id, process-wide: two copies of the library (two versions installed) never share an id. */
const LAST_ID = Symbol.for('bedrock-finops.lastInstanceId');

/** A new plugin instance's id. */
export function newInstanceId(): number {
  const g = globalThis as unknown as Record<symbol, number | undefined>;
  return (g[LAST_ID] = (g[LAST_ID] ?? 0) + 1);
}

/** Notes that instance `id` is on the stack building `context`'s handler chain. */
export function markInstance(context: object, id: number): void {
  const marked = context as Record<symbol, number | undefined>;
  const mark = marked[INSTANCES];
  marked[INSTANCES] = mark === undefined || mark === id ? id : TWO_INSTANCES;
}

/** The one instance on `context`'s stack, `-1` for two or more, `undefined` if none marked it. */
export function instanceMark(context: object): number | undefined {
  return (context as Record<symbol, number | undefined>)[INSTANCES];
}

/** Whether an attempt's error is the service's answer (an HTTP status came back: not billed), not a lost connection or an abort (the attempt stays in flight). */
export function isServiceAnswer(error: unknown): boolean {
  return typeof (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode === 'number';
}

/** Set on a handler context once an attempt came that may be another call's (see {@link noteUnattributed}). */
const UNATTRIBUTED = Symbol.for('bedrock-finops.unattributedAttempt');

/**
 * Notes that an attempt without a call on its arguments came while the context's call already had
 * one in flight: it may be a call's whose arguments a user middleware rebuilt (dropping the call it
 * carried), so no call carried on this context's arguments can be told unsent from then on.
 */
export function noteUnattributed(context: object): void {
  (context as Record<symbol, boolean | undefined>)[UNATTRIBUTED] = true;
}

/** Whether {@link noteUnattributed} was called for `context`. */
export function hadUnattributed(context: object): boolean {
  return (context as Record<symbol, boolean | undefined>)[UNATTRIBUTED] === true;
}

/** The caller's `AbortSignal`, which recent SDKs put on the context (older ones do not: then only an AbortError says so). */
export function abortSignalOf(context: object): AbortSignal | undefined {
  const signal = (context as { __smithy_context?: { abortSignal?: unknown } }).__smithy_context?.abortSignal;
  return typeof signal === 'object' && signal !== null && 'aborted' in signal ? (signal as AbortSignal) : undefined;
}

/** The call the metering middleware began, from the SDK's handler context (see {@link CALL_KEY}). */
export function callOf(context: object): Call | undefined {
  return (context as Record<symbol, Call | undefined>)[CALL_KEY];
}

/** How a call ended. */
export type Outcome = 'success' | 'error' | 'abandoned';

/**
 * A settled call: the immutable value every sink receives, once per call. The `record` is what
 * users see; the rest is what metrics need and what is not part of the record.
 */
export interface Settlement {
  readonly record: UsageRecord;
  /** `gen_ai.operation.name` of the call. */
  readonly genAiOperation: GenAiOperationName;
  readonly serverAddress: string | undefined;
  readonly serverPort: number;
}

/**
 * Receives every settlement (metrics, ledger, `onUsage`). Must not throw; a throw is reported and
 * ignored, and so is the rejection of a promise it returns (an async `onUsage`).
 */
export type SettlementSink = (settlement: Settlement) => unknown;
