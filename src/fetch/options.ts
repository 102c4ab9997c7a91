import { ConfigurationError } from '../errors/configuration-error.js';
import { assertFunction, assertKnownKeys, assertObject } from '../validate.js';
import { originOf, type EndpointMatcher } from './recognise.js';

/** Any `fetch`-compatible function (the global `fetch`, undici's, a test double). */
export type FetchFunction = typeof globalThis.fetch;

/**
 * Signs a request the plugin re-addressed (provisioned spill sends it to another model's URL).
 * It gets the request with the old signature's headers removed and returns it signed.
 */
export type RequestSigner = (request: Request) => Request | Promise<Request>;

/** Options of `finops.wrapFetch(baseFetch, options)`. */
export interface FetchMeteringOptions {
  /**
   * Base URLs of custom Bedrock Runtime endpoints (a proxy, an API gateway, a local simulator)
   * whose requests are metered although they are not SigV4-signed for Bedrock (API-key or
   * unsigned requests). Requests to `bedrock-runtime.*.amazonaws.com` and requests SigV4-signed
   * for the `bedrock` service are recognised without it. A request is metered when its path is
   * the endpoint's path followed by `/model/{modelId}/{action}` (empty segments, a trailing
   * slash, percent-encoding and letter case aside, as on AWS hosts).
   * @defaultValue `[]`
   */
  readonly endpoints?: readonly (string | URL)[];
  /**
   * Re-signs a SigV4-signed request that provisioned spill re-addresses to its on-demand
   * fallback (a new URL invalidates the signature). Without it, a SigV4-signed call to a
   * provisioned model is sent as is and never spills; requests authorised with an API key
   * (`Authorization: Bearer …`) or not signed spill without it. A SigV4a-signed call
   * (`AWS4-ECDSA-P256-SHA256`) is signed too: the signer gets it without its old signature and
   * `X-Amz-Region-Set`, and signs it as the original was signed.
   * @defaultValue `undefined`
   */
  readonly sign?: RequestSigner;
}

export interface FetchMeteringResolved {
  readonly endpoints: readonly EndpointMatcher[];
  readonly sign: RequestSigner | undefined;
}

function endpoint(value: unknown, field: string): EndpointMatcher {
  let url: URL;
  try {
    if (typeof value !== 'string' && !(value instanceof URL)) throw new TypeError('not a URL');
    url = new URL(value);
  } catch {
    throw new ConfigurationError(field, 'must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigurationError(field, 'must be an absolute http(s) URL');
  return { origin: originOf(url), path: url.pathname.replace(/\/+$/, '') };
}

/** Validates `wrapFetch` options; throws a {@link ConfigurationError} naming the field at fault. */
export function resolveFetchOptions(options: FetchMeteringOptions | undefined): FetchMeteringResolved {
  if (options === undefined) return { endpoints: [], sign: undefined };
  const o: unknown = options;
  assertObject(o, 'wrapFetch.options');
  assertKnownKeys(o, ['endpoints', 'sign'], 'wrapFetch.options');
  assertFunction(o.sign, 'wrapFetch.options.sign');
  const list = o.endpoints ?? [];
  if (!Array.isArray(list)) throw new ConfigurationError('wrapFetch.options.endpoints', 'must be a list of URLs');
  return {
    endpoints: list.map((e: unknown, i) => endpoint(e, `wrapFetch.options.endpoints[${i}]`)),
    sign: options.sign,
  };
}

/** Validates the base fetch given to `wrapFetch`. */
export function assertFetch(value: unknown): asserts value is FetchFunction {
  if (typeof value !== 'function') throw new ConfigurationError('wrapFetch.baseFetch', 'must be a fetch function');
}
