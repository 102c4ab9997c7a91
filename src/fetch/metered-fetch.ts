import type { Call } from '../call.js';
import type { FallbackRouter } from '../fallback/router.js';
import { requestedLatency, requestedServiceTier } from '../pipeline/begin.js';
import { failure, type EndCall, type UsageObserver } from '../pipeline/observe.js';
import type { UsageMeter } from '../pipeline/usage-meter.js';
import { commandInput } from './command-input.js';
import { observeResponse } from './observe-response.js';
import { assertFetch, resolveFetchOptions, type FetchFunction, type FetchMeteringOptions } from './options.js';
import { bodyOf, inspect, outgoingOf, readRequest, sendOptions, signalOf, UNREADABLE, type Outgoing, type ReadRequest, type RequestBody } from './outgoing.js';
import { copyInit, ownBytes } from './read-once.js';
import { isSigV4Signed, recogniseBedrock, type BedrockRoute, type EndpointMatcher } from './recognise.js';
import { handedOn, relationTo, sameBody, type Sending, type SendingCall, type SendingScope } from './sending.js';
import { FetchSpill } from './spill.js';

/** What the fetch path shares with the SDK path: the meter (begin, admit, settle), the usage observer (and its drains) and the router. */
export interface FetchMeteringDeps {
  readonly meter: UsageMeter;
  readonly observer: UsageObserver;
  readonly router: FallbackRouter;
  /** Shared with the SDK path: a call already metered is not metered again by a fetch below it. */
  readonly sending: SendingScope;
}

/** The plugin's fetch handles. */
export interface FetchMetering {
  /** Meters Bedrock calls, sending through the global `fetch` as it is at call time. */
  readonly fetch: FetchFunction;
  /** Meters Bedrock calls, sending through `baseFetch`. */
  wrap(baseFetch: FetchFunction, options?: FetchMeteringOptions): FetchFunction;
}

function noteEndpoint(call: Call, url: URL): void {
  call.serverAddress = url.hostname;
  call.serverPort = url.port !== '' ? Number(url.port) : url.protocol === 'http:' ? 80 : 443;
}

/**
 * What a metered call hands its base fetch, read now: a URL, headers and bytes as they were read and admitted (the
 * caller's own may be changed while the call waits). A Request's headers are live (its URL, method and body are not):
 * sent as read, in the init, which fetch takes over the Request's own. Handed on with an init of its own: a base fetch
 * that sends it from outside the call's async context (a queue run from the root) is told by these objects, which no
 * other fetch call has (a caller may give one init to many calls).
 */
function admittedOf(given: Outgoing): Outgoing {
  const init = ownBytes(copyInit(given.init));
  const input = given.input instanceof URL ? new URL(given.url.href) : given.input;
  // Headers read from an init are a copy already (see `inspect`); a Request's are its own.
  if (given.request === undefined || init.headers !== undefined) return { ...given, input, init };
  const headers = new Headers(given.headers);
  return { ...given, input, init: { ...init, headers: new Headers(headers) }, headers };
}

/**
 * The fetch call's path, top to bottom: begin → admit → route and send → observe → settle. `out` is what is sent (see
 * {@link admittedOf}, read when the call began); `given` what the caller gave, sent as it is when the call is not metered.
 */
async function meteredCall(deps: FetchMeteringDeps, spill: FetchSpill, base: FetchFunction, route: BedrockRoute, given: Outgoing, out: Outgoing = admittedOf(given)): Promise<Response> {
  const { meter } = deps;
  const call = meter.begin(route.info, route.modelId, undefined);
  if (call === undefined) return base(given.input, given.init);
  noteEndpoint(call, route.url);
  let body: RequestBody;
  try {
    body = await bodyOf(out);
  } catch (error) {
    meter.reporter.error('fetch-body', 'could not read a request body (the call is estimated without it)', error);
    body = UNREADABLE;
  }
  const input = commandInput(route.info, route.modelId, body === UNREADABLE ? undefined : body);
  if (meter.admission.active) {
    // Reserved at the tier and latency asked for (InvokeModel asks in headers, Converse in its body).
    call.serviceTier = out.headers.get('x-amzn-bedrock-service-tier') ?? requestedServiceTier(input);
    call.performanceLatency = requestedLatency({ performanceConfigLatency: out.headers.get('x-amzn-bedrock-performanceconfig-latency') ?? undefined }) ?? requestedLatency(input);
  }
  const signal = signalOf(out);
  // The only place a call may be stopped: before anything is sent, by a policy, budget or quota decision.
  const ticket = await meter.admission.admit(call, input, { redirectable: spill.canReaddress(out, body), signal });
  const endCall: EndCall = (outcome, observed, error, outputSeen = 0, output?: unknown) => {
    meter.settle(call, ticket, outcome, observed, error, { input, outputSeen, output });
  };
  let response: Response;
  // The request goes out now, unless the caller's signal already fired (then nothing is sent or billed).
  if (signal?.aborted !== true) call.attempt = 'in-flight';
  const mark = markOf(call, out, body);
  // Every attempt's objects (a spill's re-addressed request too) are noted as out until the call's response has come.
  const untracks: (() => void)[] = [];
  const handing: FetchFunction = (input, init) => {
    untracks.push(deps.sending.track(markOf(call, { input, init }, body)));
    return base(input, init);
  };
  try {
    const send = () => (call.fallback?.reason === 'quota' ? sendToQuotaFallback(call, spill, handing, route, out, body) : spill.send(call, route, out, body, handing));
    response = await deps.sending.run(send, mark);
    // An error answer was not billed. A 200 was: the request stays in flight until its body has come, so an abort while
    // reading it is charged an estimate, as in the SDK path (where the body is read within the attempt).
    if (!response.ok) call.attempt = 'answered';
  } catch (error) {
    const f = failure(error, signal);
    endCall(f.outcome, undefined, f.error);
    throw error;
  } finally {
    for (const untrack of untracks) untrack();
  }
  try {
    return await observeResponse(call, response, deps.observer, endCall, signal);
  } catch (error) {
    // Already ended with this error: the body broke off, and the caller gets that as fetch would give it.
    if (call.settled) throw error;
    meter.reporter.error('observe', 'could not read usage from a response', error);
    endCall('success', undefined, undefined);
    return response;
  }
}

/** A quota without room sent the call to its fallback: the same body to the fallback's URL (signed again when it was signed). */
async function sendToQuotaFallback(call: Call, spill: FetchSpill, base: FetchFunction, route: BedrockRoute, out: Outgoing, body: RequestBody): Promise<Response> {
  const request = body === UNREADABLE ? undefined : await spill.readdress(route, out, body, isSigV4Signed(out.headers, out.url), call.modelId);
  const moved = request === undefined ? undefined : outgoingOf(request, sendOptions(out));
  if (moved === undefined) throw new Error(`could not re-address the request to the quota fallback ${call.modelId}`);
  return spill.send(call, { ...route, modelId: call.modelId, url: moved.url }, moved, body, base);
}

/** What a call's request is marked with while it is sent: the call, the objects handed to the base fetch, and its body. */
function markOf(call: SendingCall, sent: { readonly input: Outgoing['input']; readonly init: RequestInit | undefined }, body: RequestBody): Sending {
  return { call, input: sent.input, ...(sent.init === undefined ? {} : { init: sent.init }), body };
}

/** The request body, or `UNREADABLE` when it cannot be read. */
async function readBody(out: Outgoing): Promise<RequestBody> {
  try {
    return await bodyOf(out);
  } catch {
    return UNREADABLE;
  }
}

/** Whether the request is `sending`'s own: the same objects, or its operation and model with its body (or one that cannot be told). */
function isOwn(sending: Sending, route: BedrockRoute, out: Outgoing, body: RequestBody): boolean {
  if (handedOn(sending, out.input, out.init)) return true;
  const relation = relationTo(sending, route.info.operation, route.modelId);
  if (relation !== 'body') return relation === 'own';
  const sent = sending.body;
  return body === UNREADABLE || sent === UNREADABLE || sameBody(body, sent);
}

/**
 * A Bedrock request made while this instance sends `sending`'s call: that call's own request
 * (same operation and model, and the same body or one that cannot be told) is passed on, metered
 * once by the fetch that sends it; another call (a base fetch calling Bedrock for something else
 * while it sends) is metered, unless it is the request of another call of this instance that is
 * out now (a base fetch that queues requests sends one from another's async context).
 */
async function sendInside(deps: FetchMeteringDeps, spill: FetchSpill, base: FetchFunction, route: BedrockRoute, out: Outgoing, sending: Sending): Promise<Response> {
  // An SDK call says which call it sends, not its request: its request carries the SDK's invocation id (a call made
  // below it through fetch for something else does not) and is passed on marked with its body, so a call with another
  // body made further below is told apart from it.
  if (!('input' in sending) && relationTo(sending, route.info.operation, route.modelId) === 'own' && out.headers.has('amz-sdk-invocation-id')) {
    const call = sending.call ?? { info: route.info, requestedModelId: route.modelId, modelId: route.modelId };
    const body = await readBody(out);
    return deps.sending.run(() => base(out.input, out.init), markOf(call, out, body));
  }
  // Read before the body is: metered, the call sends what was read when it began, as at the top.
  const admitted = admittedOf(out);
  const body = relationTo(sending, route.info.operation, route.modelId) === 'body' || deps.sending.sent.size > 0 ? await readBody(out) : UNREADABLE;
  if ('input' in sending && isOwn(sending, route, out, body)) return base(out.input, out.init);
  for (const other of deps.sending.sent) if (other !== sending && isOwn(other, route, out, body)) return base(out.input, out.init);
  return meteredCall(deps, spill, base, route, out, admitted);
}

function meteredFetch(deps: FetchMeteringDeps, base: () => FetchFunction, endpoints: readonly EndpointMatcher[], spill: FetchSpill): FetchFunction {
  return (input, init) => {
    const sending = deps.sending.current;
    // Sent by this instance's own metered fetch (`wrapFetch(finops.fetch)`, or `finops.fetch` over a global
    // `wrapFetch`), as it was handed on: that one meters it; metering it again would record and charge it twice.
    if (sending !== undefined && handedOn(sending, input, init)) return base()(input, init);
    // Handed on by a call of this instance that is out now, and sent from outside its async context (a queue whose
    // worker runs from the root): that call meters it.
    if (sending === undefined && deps.sending.handedBy(input, init) !== undefined) return base()(input, init);
    // Read once as fetch reads it. The caller's code (a getter, a proxy, a toString) that throws on this read is what
    // fetch's own read would throw: rejected so, nothing sent (handed on, it would be read again and could answer).
    let read: ReadRequest;
    try {
      read = readRequest(input, init);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new TypeError(String(error)));
    }
    let out: Outgoing | undefined;
    let route: BedrockRoute | undefined;
    try {
      out = inspect(read);
      route = out === undefined ? undefined : recogniseBedrock(out.method, out.url, out.headers, endpoints);
    } catch (error) {
      deps.meter.reporter.error('fetch-recognise', 'could not inspect a fetch request (it is sent unmetered)', error);
      route = undefined;
    }
    // Everything that is not a Bedrock Runtime call goes to the base fetch as it came, or as it was read when fetch would
    // read it through the caller's code (a URL it cannot parse too: the string read, not the object to ask again).
    if (route === undefined || out === undefined) return base()(read.input, read.init);
    // Inside one of this instance's calls (a fetch's or an SDK call's): its own request passed on, another call metered.
    if (sending !== undefined) return sendInside(deps, spill, base(), route, out, sending);
    return meteredCall(deps, spill, base(), route, out);
  };
}

/**
 * The plugin's fetch path. Requests that are Bedrock Runtime calls (see `recogniseBedrock`) are
 * metered like SDK calls; everything else is passed to the base fetch untouched.
 */
export function fetchMetering(deps: FetchMeteringDeps): FetchMetering {
  const original = globalThis.fetch;
  const defaults = resolveFetchOptions(undefined);
  const defaultSpill = new FetchSpill(deps.router, undefined, deps.meter.reporter);
  const sending = deps.sending;
  // Looked up per call, so a fetch patched later (msw, a tracer) is used; never itself, so
  // `globalThis.fetch = finops.fetch` does not recurse.
  const global: FetchFunction = meteredFetch(deps, () => (globalThis.fetch === global ? original : globalThis.fetch), defaults.endpoints, defaultSpill);
  return {
    get fetch() {
      sending.activate();
      return global;
    },
    wrap(baseFetch, options) {
      assertFetch(baseFetch);
      sending.activate();
      const o = resolveFetchOptions(options);
      return meteredFetch(deps, () => baseFetch, o.endpoints, new FetchSpill(deps.router, o.sign, deps.meter.reporter));
    },
  };
}
