/** The FinOps report's shape: what `bedrock-finops report --format json` prints. */
import type { LedgerFileProblem } from '../ledger/read-types.js';

/** Cost and tokens of one group of calls. */
export interface BreakdownRow {
  /** The group's value; for a combination (`--by team,model`), the values joined with ` / `. */
  readonly key: string;
  /** For a combination, each dimension's value. */
  readonly keys: Readonly<Record<string, string>>;
  readonly calls: number;
  /** Input tokens including cache reads and writes (the whole prompt). */
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheWriteTokens: number;
  /** Sum of the records' `costUsd` (added up as integer nano-USD), as the nearest JSON number. */
  readonly costUsd: number;
  /**
   * The same sum as an exact decimal string with 9 decimals (`"15000000.123456789"`): a JSON number
   * holds nano-dollars exactly only up to ~$9 million. Absent in reports built by earlier versions.
   */
  readonly costUsdDecimal?: string;
}

/** One breakdown table: a dimension (`team`) or a combination of them (`team,model`). */
export interface Breakdown {
  /** The dimensions joined with `,`, e.g. `team` or `team,model`. */
  readonly dimension: string;
  readonly dimensions: readonly string[];
  readonly rows: readonly BreakdownRow[];
}

/** One hour of a provisioned model's traffic. */
export interface ProvisionedHour {
  /** Hour start, ISO. */
  readonly at: string;
  readonly calls: number;
  readonly tokens: number;
  readonly spilled: number;
  /** Tokens per minute over the hour against capacity; `undefined` when capacity is unknown. */
  readonly utilization: number | undefined;
}

/** Whether a provisioned commitment pays for itself. */
export interface ProvisionedVerdict {
  readonly decision: 'keep' | 'drop-or-shrink' | 'unknown';
  /** One line, e.g. `keep: 92% average use, break-even 64%`. */
  readonly text: string;
}

export interface ProvisionedReport {
  readonly arn: string;
  /** The model it serves, from the ledger header (or `--config`). */
  readonly model: string | undefined;
  readonly modelUnits: number | undefined;
  readonly calls: number;
  readonly spilled: number;
  readonly tokens: number;
  /** Average tokens per minute over the whole period (what the commitment is paid for). */
  readonly tokensPerMinute: number;
  /** Tokens per minute the commitment serves: `modelUnits × tokensPerMinutePerUnit`, or estimated from minutes with spills. */
  readonly capacityTokensPerMinute: number | undefined;
  readonly capacitySource: 'configured' | 'estimated-from-spills' | undefined;
  /** Average utilization over the period's hours (idle hours count: they are paid for). */
  readonly utilization: number | undefined;
  /** The busiest hour's utilization. */
  readonly peakUtilization: number | undefined;
  /** The busiest hours (at most 5), busiest first. */
  readonly peakHours: readonly ProvisionedHour[];
  /** Every hour with traffic or spills, in time order. */
  readonly hourly: readonly ProvisionedHour[];
  readonly onDemandEquivalentUsd: number;
  /** `onDemandEquivalentUsd` exactly, 9 decimals (summed in integer nano-USD). */
  readonly onDemandEquivalentUsdDecimal?: string;
  /** Hours of the period (whole hours, as the commitment is billed). */
  readonly hours: number;
  readonly hourlyCostUsd: number | undefined;
  /** `hourlyCostUsd × hours`: what the commitment cost over the period. */
  readonly commitmentCostUsd: number | undefined;
  /** `commitmentCostUsd` exactly, 9 decimals (the hourly cost in nano-USD × hours, as the FOCUS export bills it). */
  readonly commitmentCostUsdDecimal?: string;
  /** Utilization at which the on-demand price of the traffic equals the commitment's cost. */
  readonly breakEvenUtilization: number | undefined;
  /** On-demand equivalent ÷ commitment cost: above 1 the commitment pays off. */
  readonly coverage: number | undefined;
  readonly verdict: ProvisionedVerdict;
}

/** How much of the `maxTokens` they ask for a feature's calls use (what Bedrock reserves of the quota at request start). */
export interface MaxTokensRow {
  readonly feature: string;
  readonly model: string;
  /** Calls that set a max tokens. */
  readonly calls: number;
  readonly maxTokensP50: number;
  readonly outputP99: number;
  /** P99 of output ÷ maxTokens, per call. */
  readonly p99OutputShare: number;
  /** The P99 output with 25% headroom. */
  readonly suggestedMaxTokens: number;
}

export interface Hint {
  readonly kind: 'smaller-model' | 'batch' | 'max-tokens';
  readonly feature: string;
  readonly model: string | undefined;
  /** For `smaller-model`: the model the same tokens were priced at. */
  readonly alternative?: string;
  readonly detail: string;
  /** What following the hint would have saved over the period, USD. */
  readonly savingsUsd: number | undefined;
}

/** Where the report's records came from (set by the CLI). */
export interface ReportInput {
  readonly files: readonly string[];
  readonly records: number;
  /** Lines that are not JSON. */
  readonly torn: number;
  /** Well-formed lines or rows with wrong field types. */
  readonly mistyped: number;
  /** `torn + mistyped`. */
  readonly skipped: number;
  /** Records outside `--since` / `--until`. */
  readonly outside: number;
  /** Torn lines a whole copy of the same record follows (a write that failed part-way, retried): not a loss, not in `torn`. */
  readonly retried?: number;
  /** Records read a second time (same record id) and counted once. */
  readonly duplicates?: number;
  /** Files not counted whole (torn or mistyped lines, a damaged file) or deleted while read. */
  readonly problems?: readonly LedgerFileProblem[];
  /** Whether records the ledgers hold are missing from the totals (a torn or mistyped line, a damaged file). */
  readonly partial?: boolean;
}

export interface Report {
  readonly from: string | undefined;
  readonly to: string | undefined;
  /** The `--since` / `--until` window, when given. */
  readonly window: { readonly since: string | undefined; readonly until: string | undefined };
  readonly input?: ReportInput;
  readonly totals: Omit<BreakdownRow, 'keys'> & {
    readonly errors: number;
    readonly unpriced: number;
    /** Provisioned commitments' cost over the period (hourly cost × hours). */
    readonly commitmentCostUsd: number;
    readonly commitmentCostUsdDecimal?: string;
    /** `costUsd + commitmentCostUsd`. */
    readonly totalCostUsd: number;
    /** `totalCostUsd` exactly, 9 decimals (see `costUsdDecimal`). */
    readonly totalCostUsdDecimal?: string;
  };
  readonly breakdowns: readonly Breakdown[];
  readonly inputPercentiles: readonly { feature: string; model: string; calls: number; p50: number; p95: number; p99: number }[];
  readonly contextInflation: readonly { feature: string; earlyMedian: number; lateMedian: number; growth: number }[];
  readonly outputInputRatio: readonly { feature: string; ratio: number; inputTokens: number; outputTokens: number }[];
  /** Per feature × model (at least 5 calls that set one): output against the maxTokens asked for. */
  readonly maxTokens: readonly MaxTokensRow[];
  readonly cache: { readShare: number; writeShare: number; readTokens: number; writeTokens: number; savedUsd: number };
  readonly provisioned: readonly ProvisionedReport[];
  readonly hints: readonly Hint[];
  readonly costOverTime: { readonly bucket: 'hour' | 'day'; readonly points: readonly { at: string; team: string; costUsd: number }[] };
}
