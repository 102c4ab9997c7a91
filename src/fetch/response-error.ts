/** The error a Bedrock error response stands for, named as the SDK would name the exception it throws. */
export class BedrockResponseError extends Error {
  constructor(
    override readonly name: string,
    /** The HTTP status of the response. */
    readonly status: number,
  ) {
    super(`Bedrock answered ${status} ${name}`);
  }
}

/**
 * The exception name an `x-amzn-errortype` value stands for, read as the SDK reads it (Smithy's
 * `sanitizeErrorCode`): the first of a list (`A, B`), before a `:` (`ThrottlingException:http://internal.amazon.com/…`),
 * after a `#` (a shape id with its namespace, `com.amazon.coral.service#ValidationException`, a form restJson1 allows).
 */
function typeName(type: string): string {
  const comma = type.indexOf(',');
  let name = comma === -1 ? type : type.slice(0, comma);
  const colon = name.indexOf(':');
  if (colon !== -1) name = name.slice(0, colon);
  const hash = name.indexOf('#');
  if (hash !== -1) {
    const next = name.indexOf('#', hash + 1);
    name = name.slice(hash + 1, next === -1 ? undefined : next);
  }
  return name.trim();
}

/**
 * The exception name of an error response: Bedrock's `x-amzn-errortype` header without its
 * namespace, as the SDK names the exception it throws; the status code when the header is missing
 * (a proxy's own error, say). The body is never read.
 */
export function exceptionNameOf(response: Response): string {
  const type = response.headers.get('x-amzn-errortype');
  const name = type === null ? '' : typeName(type);
  return name.length === 0 ? String(response.status) : name.slice(0, 64);
}

/** The error to record for an error response. */
export function responseError(response: Response): BedrockResponseError {
  return new BedrockResponseError(exceptionNameOf(response), response.status);
}
