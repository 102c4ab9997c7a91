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
 * The exception name of an error response: Bedrock's `x-amzn-errortype` header
 * (`ThrottlingException:http://internal.amazon.com/…`) without its namespace; the status code
 * when the header is missing (a proxy's own error, say). The body is never read.
 */
export function exceptionNameOf(response: Response): string {
  const type = response.headers.get('x-amzn-errortype');
  const name = type?.split(':')[0]?.trim();
  return name === undefined || name.length === 0 ? String(response.status) : name.slice(0, 64);
}

/** The error to record for an error response. */
export function responseError(response: Response): BedrockResponseError {
  return new BedrockResponseError(exceptionNameOf(response), response.status);
}
