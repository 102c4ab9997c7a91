import { AsyncLocalStorage } from 'node:async_hooks';
import type { OperationInfo } from '../model/operations.js';
import { UNREADABLE, type ReplayableBody, type RequestBody } from './outgoing.js';

/** The call being sent, as far as a metered fetch below it needs to know it (a `Call` is one). */
export interface SendingCall {
  readonly info: OperationInfo;
  /** The model id the caller asked for. */
  readonly requestedModelId: string;
  /** The model id being sent (read live: a fallback changes it between attempts). */
  readonly modelId: string;
}

/**
 * What is being sent, for the metered fetches below to tell that request (passed on) from another
 * Bedrock call (metered). Without `call` (an SDK call) nothing is known of it: the first Bedrock
 * request below is taken for its own and passed on marked with what it is.
 */
export interface Sending {
  readonly call?: SendingCall;
  /** The `input` and `init` handed to the base fetch: the same objects below are the same request. */
  readonly input?: unknown;
  readonly init?: RequestInit;
  /**
   * The request body sent (`undefined`: none). Absent, or `UNREADABLE` (a stream, form data), when
   * it is not known: then a request below with the call's operation and model is its own.
   */
  readonly body?: RequestBody;
}

/**
 * How a Bedrock request made below relates to the call being sent: `own` (its request, to pass
 * on), `other` (another call, to meter), or `body` (its own unless its body differs from
 * `sending.body`: compare with {@link sameBody}).
 */
export function relationTo(sending: Sending, operation: string, modelId: string): 'own' | 'other' | 'body' {
  const call = sending.call;
  if (call === undefined) return 'own';
  if (operation !== call.info.operation || (modelId !== call.modelId && modelId !== call.requestedModelId)) return 'other';
  return 'body' in sending && sending.body !== UNREADABLE ? 'body' : 'own';
}

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** Whether two request bodies are the same bytes (`undefined`, none, is the same as empty). */
export function sameBody(a: ReplayableBody | undefined, b: ReplayableBody | undefined): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a === b;
  const x = typeof a === 'string' ? encoder.encode(a) : (a ?? EMPTY);
  const y = typeof b === 'string' ? encoder.encode(b) : (b ?? EMPTY);
  if (x.byteLength !== y.byteLength) return false;
  for (let i = 0; i < x.byteLength; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Whether `input` and `init` are the objects `sending` handed to its base fetch (a string input alone tells nothing). */
export function handedOn(sending: Sending, input: unknown, init: RequestInit | undefined): boolean {
  return sending.call !== undefined && 'input' in sending && input === sending.input && init === sending.init && (init !== undefined || typeof input === 'object');
}

/**
 * The object a request handed on is known by: its init, or without one its input when that is an object (a string
 * input alone tells nothing, see {@link handedOn}); `undefined` when it has none.
 */
function keyOf(input: unknown, init: RequestInit | undefined): object | undefined {
  if (init !== undefined) return init;
  return typeof input === 'object' && input !== null ? input : undefined;
}

/** A call that says nothing of what it sends (the SDK path's, as it marks it today). */
const UNKNOWN: Sending = {};

const noop = (): void => undefined;

/**
 * Marks the async work of a call one instance is already metering, so its metered fetches below
 * pass that call's request on instead of metering it again: `wrapFetch(finops.fetch)`,
 * `finops.fetch` over a global `wrapFetch`, or an SDK client on a fetch-based request handler
 * (`FetchHttpHandler`) while the global fetch is metered. Another Bedrock call made below while it
 * sends (a custom base fetch that calls Bedrock through the instance for something else) is told
 * apart by what the mark says of the call, and metered. Off until one of the instance's metered
 * fetches is handed out: an SDK-only user never enters it (a second AsyncLocalStorage costs every
 * promise of the process a little on Node 20).
 */
export class SendingScope {
  private readonly store = new AsyncLocalStorage<Sending>();
  private on = false;
  private readonly sends = new Set<Sending>();
  /**
   * The calls out now by the object {@link handedOn} compares first (see {@link keyOf}): a fetch made outside any call
   * looks up the few handed that object, not every call out. A set per object: one object may be handed on by several
   * calls out at once (a spill's attempts, a caller's init reused).
   */
  private readonly byObject = new Map<object, Set<Sending>>();

  /** Whether a metered fetch of this instance has been handed out. */
  get active(): boolean {
    return this.on;
  }

  /** From now on calls are marked while they send. */
  activate(): void {
    this.on = true;
  }

  /** What the current async context is sending for a call this instance meters, if it is. */
  get current(): Sending | undefined {
    return this.on ? this.store.getStore() : undefined;
  }

  /**
   * The calls of this instance's metered fetches whose requests are out now, wherever they were
   * sent from: a base fetch that queues requests runs one call's request from another's async
   * context, and that request is still its own call's, not another call.
   */
  get sent(): ReadonlySet<Sending> {
    return this.sends;
  }

  /** The call out now that handed exactly `input` and `init` to its base fetch (see {@link handedOn}), if one did. */
  handedBy(input: unknown, init: RequestInit | undefined): Sending | undefined {
    const key = keyOf(input, init);
    const candidates = key === undefined ? undefined : this.byObject.get(key);
    if (candidates !== undefined) for (const sending of candidates) if (handedOn(sending, input, init)) return sending;
    return undefined;
  }

  /** Notes `sending` as out (see {@link sent}) until the function returned is called. */
  track(sending: Sending): () => void {
    if (!this.on) return noop;
    this.sends.add(sending);
    const key = 'input' in sending ? keyOf(sending.input, sending.init) : undefined;
    if (key !== undefined) {
      const calls = this.byObject.get(key);
      if (calls === undefined) this.byObject.set(key, new Set([sending]));
      else calls.add(sending);
    }
    return () => {
      this.sends.delete(sending);
      if (key === undefined) return;
      const calls = this.byObject.get(key);
      if (calls?.delete(sending) === true && calls.size === 0) this.byObject.delete(key);
    };
  }

  /**
   * Runs `send` marked as sending a metered call (unmarked while no metered fetch is out). Given
   * `sending.call`, a request below with another operation, model or body is another call;
   * without it, every request below is taken for the call's own.
   */
  run<T>(send: () => T, sending: Sending = UNKNOWN): T {
    return this.on ? this.store.run(sending, send) : send();
  }
}
