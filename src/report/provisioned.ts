import type { UsageRecord } from '../record.js';
import type { LedgerProvisioned } from '../ledger/header.js';
import { formatUsdDecimal, NANO, nanoDecimal, NanoSum, toNano } from './money.js';
import type { ProvisionedHour, ProvisionedReport, ProvisionedVerdict } from './types.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;
const pct = (n: number): string => (n < 0.1 ? `${(n * 100).toFixed(1)}%` : `${Math.round(n * 100)}%`);

interface Bucket {
  calls: number;
  tokens: number;
  spilled: number;
}

const bucket = (m: Map<number, Bucket>, at: number): Bucket => {
  let b = m.get(at);
  if (b === undefined) m.set(at, (b = { calls: 0, tokens: 0, spilled: 0 }));
  return b;
};

/**
 * Where a commitment's billed hours end for a period asked to end at `until`: hours that have not
 * come yet are not billed (`--until 2099-01-01` charged 73 years), so the present, or the last
 * call if it is later (a clock behind the ledger's). The report and the FOCUS export agree on it.
 */
export function billedUntil(until: number, lastCall: number, now: number = Date.now()): number {
  return Math.min(until, Math.max(now, lastCall));
}

/**
 * One provisioned model's traffic, by hour and by minute (memory bounded by the period's
 * length, not by calls), for utilization per hour, peak hours, capacity estimated from the
 * minutes in which calls spilled, and the break-even verdict.
 */
export class ProvisionedTracker {
  private readonly hours = new Map<number, Bucket>();
  private readonly minutes = new Map<number, Bucket>();
  private calls = 0;
  private spilled = 0;
  private tokens = 0;
  private readonly onDemandNano = new NanoSum();
  /** The commitment's cost over the period, exact nano-USD (set by {@link finish}; undefined without an hourly cost). */
  commitmentNano: bigint | undefined;

  constructor(readonly arn: string) {}

  served(r: UsageRecord, tokens: number): void {
    this.calls++;
    this.tokens += tokens;
    this.onDemandNano.add(toNano(r.onDemandEquivalentUsd));
    const h = bucket(this.hours, Math.floor(r.startedAt / HOUR) * HOUR);
    h.calls++;
    h.tokens += tokens;
    const m = bucket(this.minutes, Math.floor(r.startedAt / MINUTE) * MINUTE);
    m.calls++;
    m.tokens += tokens;
  }

  spill(r: UsageRecord): void {
    this.spilled++;
    bucket(this.hours, Math.floor(r.startedAt / HOUR) * HOUR).spilled++;
    bucket(this.minutes, Math.floor(r.startedAt / MINUTE) * MINUTE).spilled++;
  }

  /** `periodStart`/`periodEnd`: the report's period, epoch ms (the commitment is paid for all of it). */
  finish(config: LedgerProvisioned | undefined, periodStart: number, periodEnd: number): ProvisionedReport {
    const first = Math.floor(periodStart / HOUR) * HOUR;
    const hours = Math.max(1, Math.ceil((periodEnd - first) / HOUR));
    const units = config?.modelUnits;
    let capacity: number | undefined;
    let capacitySource: ProvisionedReport['capacitySource'];
    if (units !== undefined && config?.tokensPerMinutePerUnit !== undefined) {
      capacity = units * config.tokensPerMinutePerUnit;
      capacitySource = 'configured';
    } else {
      // A minute in which calls spilled was a full minute: what it served is what the commitment serves.
      let full = 0;
      for (const m of this.minutes.values()) if (m.spilled > 0 && m.tokens > full) full = m.tokens;
      if (full > 0) {
        capacity = full;
        capacitySource = 'estimated-from-spills';
      }
    }
    const hourly: ProvisionedHour[] = [...this.hours.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([at, b]) => ({ at: new Date(at).toISOString(), calls: b.calls, tokens: b.tokens, spilled: b.spilled, utilization: capacity === undefined ? undefined : b.tokens / 60 / capacity }));
    const peakHours = [...hourly].sort((a, b) => b.tokens - a.tokens || b.spilled - a.spilled).slice(0, 5);
    const tokensPerMinute = this.tokens / (hours * 60);
    const utilization = capacity === undefined ? undefined : tokensPerMinute / capacity;
    const onDemandEquivalentUsd = this.onDemandNano.usd;
    const hourlyCostUsd = config?.hourlyCostUsd;
    // Money in integer nano-USD, as the totals and the FOCUS export count it: a double product
    // ($1,000,000.065 × 4,321 h = 4321000280.8649998) put the totals a cent below the export.
    const commitment = hourlyCostUsd === undefined ? undefined : BigInt(toNano(hourlyCostUsd)) * BigInt(hours);
    this.commitmentNano = commitment;
    const commitmentCostUsd = commitment === undefined ? undefined : Number(commitment) / NANO;
    const perToken = this.tokens === 0 ? 0 : onDemandEquivalentUsd / this.tokens;
    const breakEvenUtilization = capacity !== undefined && hourlyCostUsd !== undefined && perToken > 0 ? hourlyCostUsd / (perToken * capacity * 60) : undefined;
    const coverage = commitmentCostUsd === undefined || commitmentCostUsd === 0 ? undefined : onDemandEquivalentUsd / commitmentCostUsd;
    const money = { onDemand: this.onDemandNano.value, commitment };
    return {
      arn: this.arn,
      model: config?.model,
      modelUnits: units,
      calls: this.calls,
      spilled: this.spilled,
      tokens: this.tokens,
      tokensPerMinute,
      capacityTokensPerMinute: capacity,
      capacitySource,
      utilization,
      peakUtilization: peakHours[0]?.utilization,
      peakHours,
      hourly,
      onDemandEquivalentUsd,
      onDemandEquivalentUsdDecimal: this.onDemandNano.decimal,
      hours,
      hourlyCostUsd,
      commitmentCostUsd,
      ...(commitment === undefined ? {} : { commitmentCostUsdDecimal: nanoDecimal(commitment) }),
      breakEvenUtilization,
      coverage,
      verdict: verdict(coverage, utilization, breakEvenUtilization, money, this.spilled),
    };
  }
}

/** `money`: the traffic's on-demand value and the commitment's cost, exact nano-USD (compared and printed exactly). */
function verdict(coverage: number | undefined, utilization: number | undefined, breakEven: number | undefined, money: { onDemand: bigint; commitment: bigint | undefined }, spilled: number): ProvisionedVerdict {
  const { onDemand, commitment } = money;
  if (coverage === undefined || commitment === undefined)
    return { decision: 'unknown', text: 'no verdict: the hourly cost is unknown (set hourlyCostUsd in the plugin’s provisioned configuration)' };
  const use = utilization !== undefined && breakEven !== undefined ? `${pct(utilization)} average use, break-even ${pct(breakEven)}` : `its traffic is worth ${formatUsdDecimal(nanoDecimal(onDemand))} on demand against ${formatUsdDecimal(nanoDecimal(commitment))} committed (${pct(coverage)})`;
  if (onDemand >= commitment) return { decision: 'keep', text: `keep: ${use}` };
  const peaks = spilled > 0 ? `; it was full in peaks (${spilled} calls spilled): fewer model units with on-demand spill, or on-demand only` : '';
  return { decision: 'drop-or-shrink', text: `drop or shrink: ${use}${peaks}` };
}
