import { METERED_OPERATIONS, type OperationInfo } from '../model/operations.js';

/** A request recognised as a Bedrock Runtime call. */
export interface BedrockRoute {
  readonly info: OperationInfo;
  /** The model id or ARN, percent-decoded. */
  readonly modelId: string;
  /** The REST action (`converse`, `converse-stream`, `invoke`, `invoke-with-response-stream`), as Bedrock spells it. */
  readonly action: string;
  /** What comes before `/model/` in the path, empty segments dropped (a custom endpoint's base path; usually empty on AWS hosts). */
  readonly prefix: string;
  readonly url: URL;
}

/** A custom endpoint: its origin and base path (no trailing slash). */
export interface EndpointMatcher {
  readonly origin: string;
  readonly path: string;
}

const ACTIONS: Readonly<Record<string, OperationInfo | undefined>> = {
  converse: METERED_OPERATIONS.ConverseCommand,
  'converse-stream': METERED_OPERATIONS.ConverseStreamCommand,
  invoke: METERED_OPERATIONS.InvokeModelCommand,
  'invoke-with-response-stream': METERED_OPERATIONS.InvokeModelWithResponseStreamCommand,
};

/** The operation of an action spelt as Bedrock spells it (own keys only: `constructor` is no action). */
function actionInfo(action: string): OperationInfo | undefined {
  return Object.hasOwn(ACTIONS, action) ? ACTIONS[action] : undefined;
}

// `{prefix}/model/{modelId}/{action}` with no empty segment and the action as Bedrock spells it.
const PLAIN = /^((?:\/[^/]+)*)\/model\/([^/]+)\/(converse|converse-stream|invoke|invoke-with-response-stream)$/;

// Longer segments are no action (the longest, `invoke-with-response-stream`, is 81 characters percent-encoded whole).
const MAX_LITERAL = 256;
// Anything beyond ASCII (folded with more care).
const BEYOND_ASCII = /[\u0080-\uffff]/;

/**
 * A literal path segment as a server may compare it: `;` parameters dropped (Java servlet
 * containers drop them), percent-decoded once (RFC 3986: `%65` is `e`), case folded; `undefined`
 * when it is not valid percent-encoding. Beyond ASCII it folds as case-insensitive comparisons
 * do, character by character (Java's `equalsIgnoreCase`): upper then lower case, so `ſ` is `s`
 * and the Kelvin sign is `k`, and `İ` is `i`.
 */
function literal(segment: string): string | undefined {
  const semi = segment.indexOf(';');
  let text = semi === -1 ? segment : segment.slice(0, semi);
  if (text.length > MAX_LITERAL) return undefined;
  if (text.includes('%')) {
    try {
      text = decodeURIComponent(text);
    } catch {
      return undefined;
    }
  }
  return BEYOND_ASCII.test(text) ? text.toUpperCase().toLowerCase().replace(/\u0307/g, '') : text.toLowerCase();
}

/** A path read as `{prefix…}/model/{modelId}/{action}`. */
interface PathForm {
  /** The segments before `model`, as written. */
  readonly prefix: readonly string[];
  readonly encodedId: string;
  /** The action, folded (`converse`, …). */
  readonly action: string;
}

const nonEmpty = (segment: string): boolean => segment.length > 0;

/** The `{prefix…}/model/{modelId}/{action}` form of `segments` (empty ones dropped), the model id one segment. */
function formOf(segments: readonly string[]): PathForm | undefined {
  const n = segments.length;
  if (n < 3) return undefined;
  const action = literal(segments[n - 1] ?? '');
  if (action === undefined || actionInfo(action) === undefined || literal(segments[n - 3] ?? '') !== 'model') return undefined;
  return { prefix: segments.slice(0, n - 3), encodedId: segments[n - 2] ?? '', action };
}

/**
 * Reads a request path as a Bedrock Runtime action, in every form that could reach one
 * (`pathname` as WHATWG URL leaves it: dot segments and backslashes already resolved):
 * - empty segments (`//model/…`, `/model//id`, a trailing slash) are dropped, as Smithy's
 *   TypeScript server does (Smithy leaves their meaning open: smithy-lang/smithy#1024);
 * - `model` and the action are compared as {@link literal}s: `;` parameters, percent-encoding
 *   and letter case do not matter;
 * - failing that, a `%2F` is read as a slash, as a router that decodes before splitting would:
 *   `/model/x%2Fconverse` is Converse on `x`, the model id everything between `model` and the
 *   action (so a provisioned ARN's encoded slash stays in it).
 * Which of these Bedrock serves is not documented; each is metered as the operation it would be.
 */
function pathForm(pathname: string): PathForm | undefined {
  // The form clients send: read at once.
  const plain = PLAIN.exec(pathname);
  if (plain !== null) {
    const [, prefix = '', encodedId = '', action = ''] = plain;
    return { prefix: prefix === '' ? [] : prefix.slice(1).split('/'), encodedId, action };
  }
  const segments = pathname.split('/').filter(nonEmpty);
  const form = formOf(segments);
  if (form !== undefined || !/%2f/i.test(pathname)) return form;
  const split = pathname.replace(/%2f/gi, '/').split('/').filter(nonEmpty);
  const n = split.length;
  const action = literal(split[n - 1] ?? '');
  if (action === undefined || actionInfo(action) === undefined) return undefined;
  for (let i = n - 3; i >= 0; i--) {
    if (literal(split[i] ?? '') === 'model') return { prefix: split.slice(0, i), encodedId: split.slice(i + 1, n - 1).join('%2F'), action };
  }
  return undefined;
}

/** Whether a path's prefix segments are an endpoint's base path (compared as literals; empty segments dropped). */
function underPath(prefix: readonly string[], path: string): boolean {
  const base = path.split('/').filter(nonEmpty);
  return base.length === prefix.length && base.every((segment, i) => literal(segment) === literal(prefix[i] ?? ''));
}

/** `url`'s origin, a fully qualified host name's trailing dot dropped (the same host). */
export function originOf(url: URL): string {
  return url.hostname.endsWith('.') ? `${url.protocol}//${url.hostname.slice(0, -1)}${url.port === '' ? '' : `:${url.port}`}` : url.origin;
}

// bedrock-runtime[-fips].REGION.<partition suffix>, optionally behind a VPC endpoint label
// (vpce-….bedrock-runtime.REGION.vpce.amazonaws.com). The suffixes are AWS's partitions'; a fully
// qualified name's trailing dot names the same host.
const AWS_HOST =
  /^(?:vpce-[a-z0-9-]+\.)?bedrock-runtime(?:-fips)?\.[a-z0-9-]+\.(?:vpce\.)?(?:amazonaws\.com|amazonaws\.com\.cn|api\.aws|amazonaws\.eu|c2s\.ic\.gov|sc2s\.sgov\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)\.?$/;

// The algorithms of the SigV4 family: SigV4 (HMAC, scoped to a region) and SigV4a (ECDSA, scoped to no region: the
// regions it is valid in are in `X-Amz-Region-Set`). Compared in any letter case, as the algorithm of a presigned URL is.
const SIGV4_ALGORITHM = /^aws4-(?:hmac-sha256|ecdsa-p256-sha256)(?:\s|$)/i;
// Separators of an `Authorization` header's components (`Credential=…, SignedHeaders=…, Signature=…`).
const COMPONENT_SEPARATOR = /[,\s]+/;
const DATE = /^\d{8}$/;

/**
 * The service a credential scope names: SigV4's KEY/DATE/REGION/SERVICE/aws4_request or SigV4a's KEY/DATE/SERVICE/aws4_request
 * (no region: the regions it is valid in are in `X-Amz-Region-Set`); `undefined` when it is no scope. Split, not matched
 * by a regular expression: the header is the caller's (a proxy forwards its client's), and an unanchored pattern over
 * it backtracks quadratically.
 */
function scopeService(credential: string): string | undefined {
  const parts = credential.split('/');
  if ((parts.length !== 4 && parts.length !== 5) || parts[parts.length - 1] !== 'aws4_request' || (parts[0] ?? '') === '' || !DATE.test(parts[1] ?? '')) return undefined;
  const service = parts[parts.length - 2] ?? '';
  return parts.slice(2, -1).every((part) => part !== '') ? service : undefined;
}

/** The values of a query parameter, its name in any letter case (a presigned URL's `X-Amz-…` names, however written). */
function queryValues(url: URL, name: string): string[] {
  if (url.search === '') return [];
  const values: string[] = [];
  for (const [key, value] of url.searchParams) if (key.toLowerCase() === name) values.push(value);
  return values;
}

/** Whether `host` is an AWS Bedrock Runtime endpoint (any region, partition, FIPS or VPC endpoint). */
export function isBedrockRuntimeHost(host: string): boolean {
  return AWS_HOST.test(host);
}

/**
 * Whether the request carries a signature of the SigV4 family (SigV4 or SigV4a; header or presigned query): a new URL
 * invalidates it, so it is only re-addressed when it can be signed again.
 */
export function isSigV4Signed(headers: Headers, url: URL): boolean {
  return SIGV4_ALGORITHM.test(headers.get('authorization') ?? '') || queryValues(url, 'x-amz-signature').length > 0;
}

/**
 * Whether the request is SigV4- or SigV4a-signed for the `bedrock` service (what every Bedrock
 * client signs with): in its `Authorization` header, or presigned, its query's `X-Amz-Credential`
 * scoped to it. SigV4a's scope names no region (`KEY/DATE/bedrock/aws4_request`); a request signed
 * so for another service (`s3`) is not Bedrock.
 */
export function isSignedForBedrock(headers: Headers, url: URL): boolean {
  const auth = headers.get('authorization');
  if (auth !== null && SIGV4_ALGORITHM.test(auth)) {
    for (const component of auth.split(COMPONENT_SEPARATOR)) {
      if (component.startsWith('Credential=') && scopeService(component.slice('Credential='.length)) === 'bedrock') return true;
    }
  }
  return queryValues(url, 'x-amz-credential').some((credential) => scopeService(credential) === 'bedrock');
}

/**
 * Recognises a Bedrock Runtime call from its method, URL and headers. The path must read as
 * `/model/{modelId}/{converse|converse-stream|invoke|invoke-with-response-stream}` (in any of the
 * forms {@link pathForm} reads) and the request must be a POST; then it is Bedrock when any of
 * these holds:
 * - the host is an AWS Bedrock Runtime endpoint (`bedrock-runtime.REGION.amazonaws.com` and the
 *   other partitions, FIPS and VPC endpoints), whatever comes before `/model/` (every POST there
 *   is a Bedrock call; one Bedrock does not route is refused unbilled, and charged nothing);
 * - the URL is under one of the `endpoints` given to `wrapFetch` (origin and base path);
 * - the request is SigV4- or SigV4a-signed for the `bedrock` service, in its `Authorization` header or
 *   presigned in its query (a custom endpoint, a proxy or the simulator reached by a Bedrock
 *   client that signs, such as the Vercel AI SDK's provider; a VPC endpoint's private DNS alias).
 * Anything else is not Bedrock. A model id that is not valid percent-encoding is not either.
 */
export function recogniseBedrock(method: string, url: URL, headers: Headers, endpoints: readonly EndpointMatcher[]): BedrockRoute | undefined {
  if (method.toUpperCase() !== 'POST') return undefined;
  // Who it goes to first (cheap): most requests are no Bedrock call, and their paths need not be read.
  const aws = isBedrockRuntimeHost(url.hostname);
  let under: readonly EndpointMatcher[] = [];
  if (!aws && endpoints.length > 0) {
    const origin = originOf(url);
    under = endpoints.filter((e) => e.origin === origin);
  }
  // Read once: the signature's scope is looked for in the caller's header and query.
  let signed: boolean | undefined;
  if (!aws && under.length === 0 && !(signed = isSignedForBedrock(headers, url))) return undefined;
  const form = pathForm(url.pathname);
  if (form === undefined) return undefined;
  const info = actionInfo(form.action);
  if (info === undefined) return undefined;
  if (!aws && !under.some((e) => underPath(form.prefix, e.path)) && !(signed ?? isSignedForBedrock(headers, url))) return undefined;
  let modelId: string;
  try {
    modelId = decodeURIComponent(form.encodedId);
  } catch {
    return undefined;
  }
  return { info, modelId, action: form.action, prefix: form.prefix.length === 0 ? '' : `/${form.prefix.join('/')}`, url };
}

/** The URL of the same action for another model (provisioned spill re-addresses a call this way). */
export function urlForModel(route: BedrockRoute, modelId: string): URL {
  const url = new URL(route.url.href);
  url.pathname = `${route.prefix}/model/${encodeURIComponent(modelId)}/${route.action}`;
  return url;
}
