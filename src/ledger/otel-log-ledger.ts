import { ConfigurationError } from '../errors/configuration-error.js';
import type { UsageRecord } from '../record.js';
import { VERSION } from '../version.js';
import { storedHeader, type LedgerHeader } from './header.js';
import type { UsageLedger } from './ledger.js';
import { HEADER_EVENT, toLogAttributes, USAGE_EVENT, type LogAttributes } from './otel-attributes.js';

/** The part of an OpenTelemetry `LogRecord` this ledger emits (structurally `@opentelemetry/api-logs`). */
export interface UsageLogRecord {
  readonly eventName: string;
  readonly timestamp: number;
  readonly severityNumber: number;
  readonly severityText: string;
  readonly attributes: LogAttributes;
}

/** What the ledger needs of a `LoggerProvider` (the SDK's `LoggerProvider` fits). */
export interface LoggerProviderLike {
  getLogger(name: string, version?: string): { emit(record: UsageLogRecord): void };
  forceFlush?(): Promise<void>;
}

/** Options of {@link otelLogLedger}. */
export interface OtelLogLedgerOptions {
  /**
   * Where log records go.
   * @defaultValue the global `LoggerProvider` of `@opentelemetry/api-logs`
   */
  readonly loggerProvider?: LoggerProviderLike;
}

const SEVERITY_INFO = 9;

/**
 * A UsageLedger that emits each record as an OpenTelemetry log record (event name
 * `bedrock_finops.usage`, the record's fields as attributes, no body: never any text of the
 * call), so an OpenTelemetry Collector can ship every pod's records to the team's store. The
 * header is one `bedrock_finops.ledger_header` record. Batching, retries and export are the
 * logs SDK's (`BatchLogRecordProcessor`); `flush()` calls the provider's `forceFlush()`.
 * Needs `@opentelemetry/api-logs` (an optional peer dependency) only for the global provider.
 */
export async function otelLogLedger(options: OtelLogLedgerOptions = {}): Promise<UsageLedger> {
  let provider = options.loggerProvider;
  if (provider !== undefined && typeof provider.getLogger !== 'function') throw new ConfigurationError('otelLogLedger.loggerProvider', 'must be an OpenTelemetry LoggerProvider (with getLogger)');
  if (provider === undefined) {
    try {
      const api = (await import('@opentelemetry/api-logs')) as unknown as { logs: { getLoggerProvider(): LoggerProviderLike } };
      provider = api.logs.getLoggerProvider();
    } catch {
      throw new ConfigurationError('otelLogLedger', 'needs the @opentelemetry/api-logs package (npm install @opentelemetry/api-logs) or a loggerProvider');
    }
  }
  const logger = provider.getLogger('bedrock-finops', VERSION);
  const state = { written: 0, dropped: 0 };
  let closed = false;
  const emit = (eventName: string, timestamp: number, attributes: LogAttributes): void => {
    try {
      logger.emit({ eventName, timestamp, severityNumber: SEVERITY_INFO, severityText: 'INFO', attributes });
      if (eventName === USAGE_EVENT) state.written++;
    } catch {
      if (eventName === USAGE_EVENT) state.dropped++;
    }
  };
  const flush = async (): Promise<void> => {
    await provider.forceFlush?.().catch(() => undefined);
  };
  return {
    write(record: UsageRecord) {
      // Also after close (a call in flight at shutdown settles late): the provider is the application's, and still exports it.
      emit(USAGE_EVENT, record.startedAt, toLogAttributes(record));
    },
    describe(header: LedgerHeader) {
      const h = storedHeader(header);
      emit(HEADER_EVENT, Date.parse(h.writtenAt), { 'bedrock_finops.header': JSON.stringify(h) });
    },
    flush,
    async close() {
      if (closed) return;
      closed = true;
      await flush();
    },
    get written() {
      return state.written;
    },
    get dropped() {
      return state.dropped;
    },
  };
}
