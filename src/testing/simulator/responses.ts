/** A response: a whole body, or a paced sequence of event-stream frames. */
export interface SimResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array | AsyncIterable<Uint8Array>;
}

const encoder = new TextEncoder();
let requestCounter = 0;

/** A fresh `x-amzn-requestid`. */
export function requestId(): string {
  requestCounter = (requestCounter + 1) % 1_000_000_000;
  return `sim-${Date.now().toString(36)}-${requestCounter.toString(36)}`;
}

/** A JSON response with a request id. */
export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): SimResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', 'x-amzn-requestid': requestId(), ...headers },
    body: encoder.encode(JSON.stringify(body)),
  };
}

/** Bedrock's error shape: the status, `x-amzn-errortype`, and `{ message }`. */
export function errorResponse(status: number, type: string, message: string): SimResponse {
  return jsonResponse(status, { message }, { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` });
}

/** An event-stream response whose frames come from `frames`. */
export function eventStreamResponse(frames: AsyncIterable<Uint8Array>): SimResponse {
  return { status: 200, headers: { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': requestId() }, body: frames };
}
