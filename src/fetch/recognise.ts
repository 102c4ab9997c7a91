import { METERED_OPERATIONS, type OperationInfo } from '../model/operations.js';

/** A request recognised as a Bedrock Runtime call. */
export interface BedrockRoute {
  readonly info: OperationInfo;
  /** The model id or ARN, percent-decoded. */
  readonly modelId: string;
  /** The REST action (`converse`, `converse-stream`, `invoke`, `invoke-with-response-stream`). */
  readonly action: string;
  /** What comes before `/model/` in the path (empty on AWS hosts; a custom endpoint's base path). */
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

const PATH = /^(.*)\/model\/([^/]+)\/(converse|converse-stream|invoke|invoke-with-response-stream)$/;

// bedrock-runtime[-fips].REGION.<partition suffix>, optionally behind a VPC endpoint label
// (vpce-….bedrock-runtime.REGION.vpce.amazonaws.com). The suffixes are AWS's partitions'; a fully
// qualified name's trailing dot names the same host.
const AWS_HOST =
  /^(?:vpce-[a-z0-9-]+\.)?bedrock-runtime(?:-fips)?\.[a-z0-9-]+\.(?:vpce\.)?(?:amazonaws\.com|amazonaws\.com\.cn|api\.aws|amazonaws\.eu|c2s\.ic\.gov|sc2s\.sgov\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)\.?$/;

// The credential scope of a SigV4 `Authorization` header: …Credential=KEY/DATE/REGION/SERVICE/aws4_request…
const SIGV4_SCOPE = /Credential=[^/,\s]+\/\d{8}\/[^/,\s]+\/([^/,\s]+)\/aws4_request/;

/** Whether `host` is an AWS Bedrock Runtime endpoint (any region, partition, FIPS or VPC endpoint). */
export function isBedrockRuntimeHost(host: string): boolean {
  return AWS_HOST.test(host);
}

/** Whether the request carries a SigV4 signature (header or presigned query). */
export function isSigV4Signed(headers: Headers, url: URL): boolean {
  return headers.get('authorization')?.startsWith('AWS4-HMAC-SHA256') === true || url.searchParams.has('X-Amz-Signature');
}

/** Whether the request is SigV4-signed for the `bedrock` service (what every Bedrock client signs with). */
export function isSignedForBedrock(headers: Headers): boolean {
  const auth = headers.get('authorization');
  if (auth === null || !auth.startsWith('AWS4-HMAC-SHA256')) return false;
  return SIGV4_SCOPE.exec(auth)?.[1] === 'bedrock';
}

/**
 * Recognises a Bedrock Runtime call from its method, URL and headers. The path must end in
 * `/model/{modelId}/{converse|converse-stream|invoke|invoke-with-response-stream}` and the
 * request must be a POST; then it is Bedrock when any of these holds:
 * - the host is an AWS Bedrock Runtime endpoint (`bedrock-runtime.REGION.amazonaws.com` and the
 *   other partitions, FIPS and VPC endpoints), with nothing before `/model/`;
 * - the URL is under one of the `endpoints` given to `wrapFetch` (origin and base path);
 * - the request is SigV4-signed for the `bedrock` service (a custom endpoint, a proxy or the
 *   simulator reached by a Bedrock client that signs, such as the Vercel AI SDK's provider).
 * Anything else is not Bedrock. A model id that is not valid percent-encoding is not either.
 */
export function recogniseBedrock(method: string, url: URL, headers: Headers, endpoints: readonly EndpointMatcher[]): BedrockRoute | undefined {
  if (method.toUpperCase() !== 'POST') return undefined;
  const m = PATH.exec(url.pathname);
  if (m === null) return undefined;
  const [, prefix = '', encodedId = '', action = ''] = m;
  const info = ACTIONS[action];
  if (info === undefined) return undefined;
  const known =
    (prefix === '' && isBedrockRuntimeHost(url.hostname)) ||
    endpoints.some((e) => e.origin === url.origin && e.path === prefix) ||
    isSignedForBedrock(headers);
  if (!known) return undefined;
  let modelId: string;
  try {
    modelId = decodeURIComponent(encodedId);
  } catch {
    return undefined;
  }
  return { info, modelId, action, prefix, url };
}

/** The URL of the same action for another model (provisioned spill re-addresses a call this way). */
export function urlForModel(route: BedrockRoute, modelId: string): URL {
  const url = new URL(route.url.href);
  url.pathname = `${route.prefix}/model/${encodeURIComponent(modelId)}/${route.action}`;
  return url;
}
