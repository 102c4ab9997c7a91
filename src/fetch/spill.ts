import type { Call } from '../call.js';
import type { OnceReporter } from '../diagnostics.js';
import { THROTTLE_ERRORS } from '../fallback/fallback-signal.js';
import type { FallbackRouter } from '../fallback/router.js';
import type { FetchFunction, RequestSigner } from './options.js';
import { sendOptions, signalOf, UNREADABLE, type Outgoing, type ReplayableBody, type RequestBody } from './outgoing.js';
import { isSigV4Signed, urlForModel, type BedrockRoute } from './recognise.js';
import { exceptionNameOf } from './response-error.js';

// What a signature adds: stale once the URL changes, so removed before re-signing (SigV4a's region set too: the signer
// sets the regions its signature is valid in).
const SIGNATURE_HEADERS = ['authorization', 'x-amz-date', 'x-amz-content-sha256', 'x-amz-security-token', 'x-amz-region-set', 'content-length', 'host'];

/**
 * Sends a metered fetch call, spilling provisioned throughput to on-demand the way the SDK path
 * does, with the same breakers and routing counters: a provisioned model with a `fallback` gets
 * one attempt; on a fallback-worthy error (a 429 `ThrottlingException` by default), or while its
 * breaker is open, the call is re-issued once to the fallback's URL with the same body. Fetch
 * has no SDK retries in between: a client that retries (the AI SDK does) calls fetch again, and
 * each attempt is a call of its own. Every throttled answer is counted for the routing metrics.
 */
export class FetchSpill {
  constructor(
    private readonly router: FallbackRouter,
    private readonly sign: RequestSigner | undefined,
    private readonly reporter: OnceReporter,
  ) {}

  /** One HTTP attempt; a throttled answer is counted against the model it was sent to. */
  private attempt(base: FetchFunction, input: string | URL | Request, init: RequestInit | undefined, modelId: string): Promise<Response> {
    // Promise.resolve: a base fetch that answers with a plain Response (a test double) works as it does unmetered.
    return Promise.resolve(base(input, init)).then((response) => {
      if (response.status >= 400) {
        const name = exceptionNameOf(response);
        if (THROTTLE_ERRORS.has(name)) this.router.counters.throttle(modelId, name);
      }
      return response;
    });
  }

  send(call: Call, route: BedrockRoute, out: Outgoing, body: RequestBody, base: FetchFunction): Promise<Response> {
    const fallback = this.router.fallbackOf(call.requestedModelId);
    if (fallback === undefined) return this.attempt(base, out.input, out.init, call.modelId);
    if (body === UNREADABLE) {
      this.reporter.warn(`fetch-spill-body:${call.requestedModelId}`, `a fetch call to provisioned model ${call.requestedModelId} has a body that cannot be sent twice (a stream); it is sent without spill`);
      return this.attempt(base, out.input, out.init, call.modelId);
    }
    const signed = isSigV4Signed(out.headers, out.url);
    if (signed && this.sign === undefined) {
      this.reporter.warn(
        `fetch-spill-sign:${call.requestedModelId}`,
        `a SigV4-signed fetch call to provisioned model ${call.requestedModelId} cannot be re-addressed to its fallback without re-signing; pass wrapFetch(fetch, { sign }) (it is sent without spill)`,
      );
      return this.attempt(base, out.input, out.init, call.modelId);
    }
    return this.route(call, route, out, body, signed, fallback, base);
  }

  /** Whether a request can be sent to another model: its body can be sent again, and a signed one can be signed again. */
  canReaddress(out: Outgoing, body: RequestBody): boolean {
    return body !== UNREADABLE && (this.sign !== undefined || !isSigV4Signed(out.headers, out.url));
  }

  /** The request for `to`, signed again when the original was; `undefined` when it could not be built or signed. */
  async readdress(route: BedrockRoute, out: Outgoing, body: ReplayableBody | undefined, signed: boolean, to: string): Promise<Request | undefined> {
    let request: Request;
    try {
      const url = urlForModel(route, to);
      const headers = new Headers(out.headers);
      if (signed) {
        for (const h of SIGNATURE_HEADERS) headers.delete(h);
        // A presigned URL's signature, its names in any letter case (as it was recognised as signed).
        for (const key of [...url.searchParams.keys()]) if (key.toLowerCase().startsWith('x-amz-')) url.searchParams.delete(key);
      }
      const signal = signalOf(out);
      // The original's redirect mode and keepalive travel with it (init's, and a dispatcher, go along as the attempt's init).
      const original = out.request === undefined ? {} : { redirect: out.request.redirect, keepalive: out.request.keepalive };
      request = new Request(url, { ...original, method: 'POST', headers, body: body ?? null, ...(signal === undefined ? {} : { signal }) });
    } catch (error) {
      // Another realm's signal or redirect mode this realm's Request refuses: the call is not re-addressed.
      this.reporter.error(`fetch-readdress:${to}`, 'could not build the request for the on-demand fallback (the call is not spilled)', error);
      return undefined;
    }
    if (!signed || this.sign === undefined) return request;
    try {
      return await this.sign(request);
    } catch (error) {
      this.reporter.error(`fetch-sign:${to}`, 're-signing a request for the on-demand fallback failed (the call is not spilled)', error);
      return undefined;
    }
  }

  private async route(
    call: Call,
    route: BedrockRoute,
    out: Outgoing,
    body: ReplayableBody | undefined,
    signed: boolean,
    fallback: string,
    base: FetchFunction,
  ): Promise<Response> {
    const arn = call.requestedModelId;
    const breakers = this.router.breakers;
    if (!breakers.tryProvisioned(arn, Date.now())) {
      const request = await this.readdress(route, out, body, signed, fallback);
      if (request !== undefined) {
        this.router.redirect(call, arn, fallback, 'breaker-open');
        return this.attempt(base, request, sendOptions(out), fallback);
      }
    }
    let response: Response;
    try {
      response = await this.attempt(base, out.input, out.init, arn);
    } catch (error) {
      breakers.released(arn);
      throw error;
    }
    if (response.ok) {
      breakers.succeeded(arn);
      return response;
    }
    const name = exceptionNameOf(response);
    if (!this.router.fallbackOn.has(name)) {
      breakers.released(arn);
      return response;
    }
    breakers.throttled(arn, Date.now());
    const request = await this.readdress(route, out, body, signed, fallback);
    // Signing failed: the caller gets the provisioned model's answer, as without a fallback.
    if (request === undefined) return response;
    void response.body?.cancel().catch(() => undefined);
    this.router.redirect(call, arn, fallback, name);
    return this.attempt(base, request, sendOptions(out), fallback);
  }
}
