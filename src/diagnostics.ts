import { diag } from '@opentelemetry/api';

const MAX_KEYS = 1000;

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
    const detail = error instanceof Error ? `: ${error.name}: ${error.message}` : '';
    diag.error(`bedrock-finops: ${message}${detail}`);
  }
}
