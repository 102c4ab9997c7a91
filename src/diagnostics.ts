import { diag } from '@opentelemetry/api';
import { detached } from './detached.js';
import { errorName } from './errors/error-name.js';
import { isFinOpsError } from './errors/finops-error.js';
import { sliceWhole } from './unicode.js';

const MAX_KEYS = 1000;
// What a system or error code is made of (`ECONNRESET`, `ERR_INVALID_URL`, `UND_ERR_SOCKET`): an SDK exception carries
// the fields of the error body it came with, so a gateway answering `{ "code": "…the prompt…" }` puts prose there.
const CODE = /^[A-Za-z0-9_.$-]+$/;

/**
 * What a diagnostic says of an error: its name and system code (each only if it looks like one), never its message unless it is
 * one of this library's own — a message from a user's estimator, sink or handler may quote the
 * prompt it was given, and no prompt text may reach logs. Never throws: it runs in `catch`
 * blocks, and an error from a user's code (a name that is not a string, a getter that throws, a
 * Proxy) must not turn a reported failure into a broken call.
 */
export function describeError(error: unknown): string {
  try {
    if (!(error instanceof Error)) return '';
    const name = errorName(error);
    const code = (error as { code?: unknown }).code;
    const cut = typeof code === 'string' ? code.slice(0, 32) : '';
    const codeText = CODE.test(cut) ? ` (${cut})` : '';
    const message: unknown = isFinOpsError(error) ? error.message : undefined;
    const own = typeof message === 'string' ? `: ${sliceWhole(message, 300)}` : '';
    return `: ${name}${codeText}${own}`;
  } catch {
    return ': (an error that could not be read)';
  }
}

/** Longest key a reporter remembers: keys carry model ids and names from requests, and 1,000 of them are kept. */
const MAX_KEY_LENGTH = 256;
/** Longest message logged: messages quote ids from requests and responses (each cut where it is quoted; this is the backstop). */
const MAX_MESSAGE_LENGTH = 1024;

/**
 * Reports a problem through the OpenTelemetry `diag` logger once per key (per model id, per
 * sink), so a misconfiguration cannot flood logs at request rate. Never includes request content.
 * Keys and messages are bounded (cut where they are long), so what it keeps stays small whatever
 * ids the calls carry; this costs nothing on a call that reports nothing.
 */
export class OnceReporter {
  private readonly seen = new Set<string>();

  private first(key: string): boolean {
    const k = sliceWhole(key, MAX_KEY_LENGTH);
    if (this.seen.has(k)) return false;
    if (this.seen.size >= MAX_KEYS) this.seen.clear();
    // A copy: keys quote ids cut from longer strings (views of them), and are kept.
    this.seen.add(detached(k));
    return true;
  }

  warn(key: string, message: string): void {
    if (this.first(key)) diag.warn(sliceWhole(`bedrock-finops: ${message}`, MAX_MESSAGE_LENGTH));
  }

  error(key: string, message: string, error?: unknown): void {
    if (this.first(key)) diag.error(sliceWhole(`bedrock-finops: ${message}${describeError(error)}`, MAX_MESSAGE_LENGTH));
  }
}
