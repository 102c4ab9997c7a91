import { diag } from '@opentelemetry/api';
import { isFinOpsError } from './errors/finops-error.js';

const MAX_KEYS = 1000;

/**
 * What a diagnostic says of an error: its name and system code, never its message unless it is
 * one of this library's own — a message from a user's estimator, sink or handler may quote the
 * prompt it was given, and no prompt text may reach logs.
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return '';
  const name = error.name.slice(0, 64);
  const code = (error as { code?: unknown }).code;
  const codeText = typeof code === 'string' ? ` (${code.slice(0, 32)})` : '';
  const own = isFinOpsError(error) ? `: ${error.message.slice(0, 300)}` : '';
  return `: ${name}${codeText}${own}`;
}

/**
 * Reports a problem through the OpenTelemetry `diag` logger once per key (per model id, per
 * sink), so a misconfiguration cannot flood logs at request rate. Never includes request content.
 */
export class OnceReporter {
  private readonly seen = new Set<string>();

  warn(key: string, message: string): void {
    if (this.seen.has(key)) return;
    if (this.seen.size >= MAX_KEYS) this.seen.clear();
    this.seen.add(key);
    diag.warn(`bedrock-finops: ${message}`);
  }

  error(key: string, message: string, error?: unknown): void {
    if (this.seen.has(key)) return;
    if (this.seen.size >= MAX_KEYS) this.seen.clear();
    this.seen.add(key);
    diag.error(`bedrock-finops: ${message}${describeError(error)}`);
  }
}
