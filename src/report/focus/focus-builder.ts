import { mergeHeaders, type LedgerProvisioned, type StoredHeader } from '../../ledger/header.js';
import type { LedgerVisitor } from '../../ledger/read-types.js';
import { parseModelId } from '../../model/model-id.js';
import type { UsageRecord } from '../../record.js';
import { shortModel } from '../dimensions.js';
import { integerDigits, nanoDecimal, NanoSum, toNano } from '../money.js';
import { billedUntil } from '../provisioned.js';
import { addSums, emptySums, type TokenSums } from '../token-sums.js';
import { ALL_COLUMNS, PUBLISHERS, REGION_NAMES, type FocusColumn, type FocusRow } from './columns.js';
import { keyPart } from '../../key-part.js';

/** A row as values in {@link ALL_COLUMNS} order (what the writers take: no 69-key objects per row). */
export type FocusValues = (string | null)[];

const INDEX = Object.fromEntries(ALL_COLUMNS.map(([c], i) => [c, i])) as Record<FocusColumn, number>;
type Cells = Partial<Record<FocusColumn, string | null>>;
const fill = (row: FocusValues, cells: Cells): void => {
  for (const k in cells) row[INDEX[k as FocusColumn]] = cells[k as FocusColumn] ?? null;
};

/** Values in column order as a row object. */
export const rowObject = (values: FocusValues): FocusRow => Object.fromEntries(ALL_COLUMNS.map(([c], i) => [c, values[i] ?? null])) as FocusRow;

/** Options of the FOCUS export. */
export interface FocusExportOptions {
  /** BillingAccountId and SubAccountId. @defaultValue the account in the ledger's ARNs, else `unknown` */
  readonly accountId?: string;
  /** RegionId for calls whose model id names no region (bare ids, profiles). @defaultValue `null` */
  readonly region?: string;
  /** Start and end (exclusive) of the period, epoch ms, for the commitments' hours. @defaultValue first and last record */
  readonly since?: number;
  readonly until?: number;
  /** The present, epoch ms: commitment rows end here (or at the last call, if later), whatever `until` says. @defaultValue `Date.now()` */
  readonly now?: number;
  /** Provisioned commitments over the ledger headers. */
  readonly provisioned?: Readonly<Record<string, LedgerProvisioned>>;
  /** Charge period of a row. @defaultValue `'hour'` */
  readonly granularity?: 'hour' | 'day';
  /**
   * Attribution keys kept in `Tags` (and so in the grouping); per-tenant or per-user keys make a
   * row per value. @defaultValue every key
   */
  readonly tags?: readonly string[];
}

interface Group extends TokenSums {
  hour: number;
  modelId: string;
  modelKind: UsageRecord['modelKind'];
  baseModelId: string | undefined;
  tier: string;
  tags: string;
  failed: number;
  readonly onDemandNano: NanoSum;
}

const HOUR = 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const monthStart = (ms: number): number => Date.UTC(new Date(ms).getUTCFullYear(), new Date(ms).getUTCMonth(), 1);
const nextMonth = (ms: number): number => Date.UTC(new Date(ms).getUTCFullYear(), new Date(ms).getUTCMonth() + 1, 1);
const sortedJson = (o: Readonly<Record<string, string>>, keep: ReadonlySet<string> | undefined): string =>
  JSON.stringify(Object.fromEntries(Object.entries(o).filter(([k]) => keep === undefined || keep.has(k)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
/** `n / 1e6` as an exact decimal string (tokens → millions of tokens). */
const perMillion = (n: number): string => {
  const s = integerDigits(n).padStart(7, '0');
  return `${s.slice(0, -6)}.${s.slice(-6)}`;
};
const RESOURCE_TYPES: Readonly<Record<string, string>> = { 'foundation-model': 'Foundation Model', 'inference-profile': 'Inference Profile', 'application-inference-profile': 'Application Inference Profile', 'provisioned-model': 'Provisioned Throughput', 'custom-model': 'Custom Model', 'custom-model-deployment': 'Custom Model Deployment', 'imported-model': 'Imported Model' };

/**
 * Builds FOCUS 1.2 rows from ledger records, streamed in: one row per hour × model × service
 * tier × attribution (hourly, like the providers' own FOCUS exports; memory bounded by the
 * number of such groups), plus one row per hour of each provisioned commitment with a known
 * hourly cost. Usage rows' BilledCost adds up, exactly (integer nano-USD, 9 decimals), to the
 * ledger's cost; commitment rows add the commitments' cost (`x_ChargeSource` tells them apart).
 * List, contracted and effective costs equal the billed cost: the ledger knows one price per call.
 */
export class FocusBuilder implements LedgerVisitor {
  private readonly groups = new Map<string, Group>();
  private readonly headers: StoredHeader[] = [];
  private readonly models = new Map<string, ReturnType<typeof parseModelId>>();
  private readonly keep: ReadonlySet<string> | undefined;
  private readonly keepSorted: readonly string[];
  private readonly period: number;
  private account: string | undefined;
  private first = Infinity;
  private last = -Infinity;
  private readonly usage = new NanoSum();
  private commitment = 0n;
  /** Sum of the usage rows' BilledCost, nano-USD, exact at any size. */
  get usageNanoExact(): bigint {
    return this.usage.value;
  }
  /** Sum of the commitment rows' BilledCost, nano-USD, exact (known after {@link rows}). */
  get commitmentNanoExact(): bigint {
    return this.commitment;
  }
  /** {@link usageNanoExact} as a number (exact up to ~$9 million). */
  get usageNano(): number {
    return Number(this.usage.value);
  }
  /** {@link commitmentNanoExact} as a number (exact up to ~$9 million). */
  get commitmentNano(): number {
    return Number(this.commitment);
  }

  constructor(private readonly options: FocusExportOptions = {}) {
    this.keep = options.tags === undefined ? undefined : new Set(options.tags);
    this.keepSorted = [...(options.tags ?? [])].sort();
    this.period = options.granularity === 'day' ? 24 * HOUR : HOUR;
  }

  private model(id: string): ReturnType<typeof parseModelId> {
    let m = this.models.get(id);
    if (m === undefined) this.models.set(id, (m = parseModelId(id)));
    return m;
  }

  header(h: StoredHeader): void {
    this.headers.push(h);
  }

  record(r: UsageRecord): void {
    const hour = Math.floor(r.startedAt / this.period) * this.period;
    this.first = Math.min(this.first, r.startedAt);
    this.last = Math.max(this.last, r.startedAt);
    const tier = r.serviceTier ?? 'default';
    // The group key: hour, model, tier, then kept attribution entries in key order, every part
    // length-prefixed (cheap, and unambiguous whatever the values hold); the Tags JSON is built once per group.
    let key = `${hour}:${keyPart(r.modelId)}${keyPart(tier)}`;
    if (this.keep === undefined) for (const k of Object.keys(r.attribution).sort()) key += keyPart(k) + keyPart(r.attribution[k] ?? '');
    else for (const k of this.keepSorted) {
      const v = r.attribution[k];
      if (v !== undefined) key += keyPart(k) + keyPart(v);
    }
    let g = this.groups.get(key);
    if (g === undefined) {
      const tags = sortedJson(r.attribution, this.keep);
      this.groups.set(key, (g = { hour, modelId: r.modelId, modelKind: r.modelKind, baseModelId: r.baseModelId, tier, tags, ...emptySums(), failed: 0, onDemandNano: new NanoSum() }));
      this.account ??= this.model(r.modelId).accountId;
    }
    const cost = toNano(r.costUsd);
    addSums(g, r, cost);
    if (r.error !== undefined) g.failed++;
    g.onDemandNano.add(toNano(r.onDemandEquivalentUsd));
    this.usage.add(cost);
  }

  private base(start: number, id: string, region: string | undefined): Cells {
    const account = this.options.accountId ?? this.account ?? 'unknown';
    const publisher = PUBLISHERS[this.model(id).provider ?? ''] ?? 'Amazon Web Services';
    return {
      BillingAccountId: account, BillingAccountType: 'Account', BillingCurrency: 'USD', BillingPeriodStart: iso(monthStart(start)), BillingPeriodEnd: iso(nextMonth(start)),
      ChargeCategory: 'Usage', ChargePeriodStart: iso(start), ChargePeriodEnd: iso(start + this.period), InvoiceIssuerName: 'Amazon Web Services', PricingCategory: 'Standard', PricingCurrency: 'USD',
      ProviderName: 'Amazon Web Services', PublisherName: publisher, RegionId: region ?? null, RegionName: region === undefined ? null : (REGION_NAMES[region] ?? region),
      ResourceId: id, ResourceName: shortModel(id), ServiceCategory: 'AI and Machine Learning', ServiceName: 'Amazon Bedrock', ServiceSubcategory: 'Generative AI', SubAccountId: account, SubAccountType: 'Account',
    };
  }

  private static complete(base: Cells, cells: Cells, costNano: bigint): FocusValues {
    const cost = nanoDecimal(costNano);
    const row: FocusValues = new Array<string | null>(ALL_COLUMNS.length).fill(null);
    fill(row, base);
    fill(row, cells);
    fill(row, { BilledCost: cost, ContractedCost: cost, EffectiveCost: cost, ListCost: cost, PricingCurrencyEffectiveCost: cost });
    return row;
  }

  /** The rows as objects, in time order: usage rows, then each commitment's rows. */
  *rows(): Generator<FocusRow> {
    for (const values of this.values()) yield rowObject(values);
  }

  /** The rows as values in column order (what the CSV and Parquet writers take). */
  *values(): Generator<FocusValues> {
    for (const g of [...this.groups.values()].sort((a, b) => a.hour - b.hour)) {
      const tokens = g.inputTokens + g.outputTokens + g.cacheReadInputTokens + g.cacheWriteInputTokens;
      const sku = `${g.baseModelId ?? g.modelId}:${g.tier}`;
      yield FocusBuilder.complete(
        this.base(g.hour, g.modelId, this.model(g.modelId).region ?? this.options.region),
        {
          ChargeDescription: `${g.calls} ${g.modelKind === 'provisioned-model' ? 'provisioned' : 'on-demand'} calls to ${g.modelId}: ${tokens} tokens`,
          ChargeFrequency: 'Usage-Based', ConsumedQuantity: integerDigits(tokens), ConsumedUnit: 'Tokens', PricingQuantity: perMillion(tokens), PricingUnit: '1M Tokens',
          ResourceType: RESOURCE_TYPES[g.modelKind] ?? 'Model', SkuId: sku, SkuPriceId: sku, SkuMeter: 'Tokens', Tags: g.tags,
          x_Calls: String(g.calls), x_FailedCalls: String(g.failed), x_InputTokens: integerDigits(g.inputTokens), x_OutputTokens: integerDigits(g.outputTokens), x_CacheReadInputTokens: integerDigits(g.cacheReadInputTokens), x_CacheWriteInputTokens: integerDigits(g.cacheWriteInputTokens), x_CacheWrite1hInputTokens: integerDigits(g.cacheWrite1hInputTokens),
          x_ServiceTier: g.tier, x_ModelKind: g.modelKind, x_BaseModelId: g.baseModelId ?? null, x_OnDemandEquivalentCost: g.onDemandNano.value === 0n ? null : g.onDemandNano.decimal, x_ChargeSource: 'usage',
        },
        g.costNano.value,
      );
    }
    yield* this.commitmentRows();
  }

  private *commitmentRows(): Generator<FocusValues> {
    if (this.first === Infinity && this.options.since === undefined) return;
    const config: Record<string, LedgerProvisioned> = mergeHeaders(this.headers);
    for (const [arn, p] of Object.entries(this.options.provisioned ?? {})) config[arn] = { ...config[arn], ...p };
    const start = Math.floor((this.options.since ?? this.first) / this.period) * this.period;
    const hours = this.period / HOUR;
    const until = this.options.until;
    const end = until === undefined ? this.last : billedUntil(until, this.last, this.options.now);
    for (const [arn, p] of Object.entries(config).sort(([a], [b]) => a.localeCompare(b))) {
      if (p.hourlyCostUsd === undefined) continue;
      const nano = BigInt(toNano(p.hourlyCostUsd)) * BigInt(hours);
      const units = String((p.modelUnits ?? 1) * hours);
      for (let h = start; h < end || h === start; h += this.period) {
        this.commitment += nano;
        yield FocusBuilder.complete(
          this.base(h, arn, this.model(arn).region ?? this.options.region),
          {
            ChargeDescription: `Provisioned Throughput ${shortModel(arn)}: ${p.modelUnits ?? 1} model units for ${hours} hour${hours === 1 ? '' : 's'}`,
            ChargeFrequency: 'Recurring', ConsumedQuantity: units, ConsumedUnit: 'Model Unit-Hours', PricingQuantity: units, PricingUnit: 'Model Unit-Hours',
            ResourceType: 'Provisioned Throughput', SkuId: `${p.model ?? arn}:provisioned`, SkuPriceId: `${p.model ?? arn}:provisioned`, SkuMeter: 'Model Unit-Hours', Tags: '{}',
            x_ModelKind: 'provisioned-model', x_BaseModelId: p.model ?? null, x_ChargeSource: 'provisioned-commitment',
          },
          nano,
        );
      }
    }
  }
}
