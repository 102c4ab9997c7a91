import { ConfigurationError } from '../errors/configuration-error.js';
import type { UsageRecord } from '../record.js';
import { assertFunction } from '../validate.js';
import type { UsageLedger } from './ledger.js';

/** Where settled records go besides metrics: `onUsage` and a ledger. */
export interface LedgerInputConfig {
  /**
   * Called once per metered call, after it settles (for streams: when the stream ends, fails or
   * is abandoned). Runs inline, before `send()` resolves for non-streaming calls: keep it cheap.
   * An exception it throws is reported through OTel `diag` and never reaches the caller.
   */
  readonly onUsage?: (record: UsageRecord) => void;
  /**
   * Where every record is also written, for `npx bedrock-finops report` and the FOCUS export:
   * `jsonlLedger({ path })`, `await sqliteLedger({ path })` or `await otelLogLedger()` from
   * `bedrock-finops/ledger`. The plugin's `provisioned` commitments are written with it (a header),
   * so the report needs no extra configuration. Closed by `finops.shutdown()`.
   */
  readonly ledger?: UsageLedger;
}

export interface LedgerResolvedConfig {
  readonly onUsage: ((record: UsageRecord) => void) | undefined;
  readonly ledger: UsageLedger | undefined;
}

export const LEDGER_OPTION_KEYS = ['onUsage', 'ledger'] as const;

export function resolveLedgerConfig(o: LedgerInputConfig): LedgerResolvedConfig {
  assertFunction(o.onUsage, 'onUsage');
  const ledger = o.ledger;
  if (ledger !== undefined) {
    const l = ledger as Partial<UsageLedger>;
    if (typeof l.write !== 'function' || typeof l.close !== 'function') throw new ConfigurationError('ledger', 'must be a UsageLedger (jsonlLedger(...) or await sqliteLedger(...))');
  }
  return { onUsage: o.onUsage, ledger };
}
