import { OnceReporter } from '../diagnostics.js';
import { mergeHeaders, type LedgerProvisioned, type StoredHeader } from '../ledger/header.js';
import type { LedgerVisitor } from '../ledger/read-types.js';
import { ModelResolver } from '../model/model-resolver.js';
import { DEFAULT_SERVICE_TIER_MULTIPLIERS, Pricer } from '../pricing/pricer.js';
import type { RateCard } from '../pricing/rate-card.js';
import type { UsageRecord } from '../record.js';
import { dimensionValue, NONE, specDimensions, type BreakdownSpec } from './dimensions.js';
import { CountHistogram, TimedSeries } from './histogram.js';
import { buildHints, type FeatureModelStats } from './hints.js';
import { MaxTokensTracker } from './max-tokens.js';
import { NANO, nanoDecimal, NanoSum, toNano } from './money.js';
import { billedUntil, ProvisionedTracker } from './provisioned.js';
import { addSums, emptySums } from './token-sums.js';
import type { BreakdownRow, Report } from './types.js';
import { keyPart } from '../key-part.js';

/** Options of the report. */
export interface ReportOptions {
  /**
   * Breakdown tables: a dimension (`'team'`) or a combination grouped together (`['team', 'model']`).
   * Dimensions: attribution keys, `model`, `day`, `hour`, `operation`, `outcome`, `tier`.
   * @defaultValue `['team', 'feature', 'model', 'day']`
   */
  readonly by?: readonly BreakdownSpec[];
  /** Provisioned commitments, over what the ledger headers say (field by field). @defaultValue `{}` */
  readonly provisioned?: Readonly<Record<string, LedgerProvisioned>>;
  /** Start of the report's period (epoch ms), for the commitment's hours. @defaultValue the first record */
  readonly since?: number;
  /** End of the report's period (epoch ms, exclusive). @defaultValue the last record */
  readonly until?: number;
  /** The present, epoch ms: a commitment's hours end here (or at the last call, if later), whatever `until` says. @defaultValue `Date.now()` */
  readonly now?: number;
}

/** Cost of one team in one hour or day (the group's parts kept, never parsed back from its key). */
interface TimePoint {
  readonly at: string;
  readonly team: string;
  readonly costNano: NanoSum;
}

interface Row {
  keys: Record<string, string>;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  readonly costNano: NanoSum;
}

const newRow = (keys: Record<string, string>): Row => ({ keys, calls: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costNano: new NanoSum() });
const promptTokens = (r: UsageRecord): number => r.inputTokens + r.cacheReadInputTokens + r.cacheWriteInputTokens;
const rateOf = (rate: RateCard['input'] | undefined): number | undefined => (rate === undefined ? undefined : typeof rate === 'number' ? rate : rate.base);
const get = <K, V>(m: Map<K, V>, k: K, make: () => V): V => {
  let v = m.get(k);
  if (v === undefined) m.set(k, (v = make()));
  return v;
};

/**
 * The FinOps report, built one record at a time (a {@link LedgerVisitor}): memory is bounded by
 * the number of groups (teams, models, hours, distinct prompt sizes), except context inflation,
 * which keeps 16 bytes per metered call. Money is added up as integer nano-USD.
 */
export class ReportBuilder implements LedgerVisitor {
  private readonly specs: readonly (readonly string[])[];
  private readonly tables: Map<string, Row>[];
  private readonly totals = { ...newRow({}), errors: 0, unpriced: 0 };
  private readonly groups = new Map<string, FeatureModelStats>();
  private readonly inflation = new Map<string, TimedSeries>();
  private readonly ratio = new Map<string, { input: number; output: number }>();
  private readonly batch = new Map<string, { calls: number; readonly costNano: NanoSum }>();
  private readonly provisioned = new Map<string, ProvisionedTracker>();
  private readonly maxTokens = new MaxTokensTracker();
  private readonly costByHour = new Map<string, TimePoint>();
  private readonly costByDay = new Map<string, TimePoint>();
  private readonly headers: StoredHeader[] = [];
  private readonly resolver: ModelResolver<RateCard | undefined>;
  private readonly cacheSaved = new NanoSum();
  private first = Infinity;
  private last = -Infinity;

  constructor(private readonly options: ReportOptions = {}) {
    this.specs = (options.by ?? ['team', 'feature', 'model', 'day']).map(specDimensions);
    this.tables = this.specs.map(() => new Map<string, Row>());
    const pricer = new Pricer({ overrides: new Map(), discount: 0, serviceTiers: DEFAULT_SERVICE_TIER_MULTIPLIERS, reporter: new OnceReporter() });
    this.resolver = new ModelResolver(new Map(), (pricedAs, target, at) => pricer.rateCard(pricedAs, target, at));
  }

  private cardOf(modelId: string, at: number): RateCard | undefined {
    return this.resolver.resolve(modelId, at).price;
  }

  header(h: StoredHeader): void {
    this.headers.push(h);
  }

  private static add(row: Row, r: UsageRecord, prompt: number, costNano: number): void {
    row.calls++;
    row.inputTokens += prompt;
    row.outputTokens += r.outputTokens;
    row.cacheReadTokens += r.cacheReadInputTokens;
    row.cacheWriteTokens += r.cacheWriteInputTokens;
    row.costNano.add(costNano);
  }

  private static addPoint(points: Map<string, TimePoint>, at: string, team: string, costNano: number): void {
    const key = at + team;
    let p = points.get(key);
    if (p === undefined) points.set(key, (p = { at, team, costNano: new NanoSum() }));
    p.costNano.add(costNano);
  }

  record(r: UsageRecord): void {
    const costNano = toNano(r.costUsd);
    const prompt = promptTokens(r);
    if (r.startedAt < this.first) this.first = r.startedAt;
    if (r.startedAt > this.last) this.last = r.startedAt;
    ReportBuilder.add(this.totals, r, prompt, costNano);
    if (r.error !== undefined) this.totals.errors++;
    if (r.costUsd === undefined && r.usageSource !== 'none') this.totals.unpriced++;
    // One ISO string per record serves the day and hour dimensions and the cost-over-time buckets.
    const iso = new Date(r.startedAt).toISOString();
    for (let i = 0; i < this.specs.length; i++) {
      const dims = this.specs[i] ?? [];
      // Every value length-prefixed but the last: the values are untrusted, and no separator is safe.
      let key = '';
      const last = dims.length - 1;
      for (let j = 0; j < last; j++) key += keyPart(dimensionValue(r, dims[j] ?? '', iso));
      if (last >= 0) key += dimensionValue(r, dims[last] ?? '', iso);
      const table = this.tables[i] ?? new Map<string, Row>();
      let row = table.get(key);
      if (row === undefined) table.set(key, (row = newRow(Object.fromEntries(dims.map((d) => [d, dimensionValue(r, d, iso)])))));
      ReportBuilder.add(row, r, prompt, costNano);
    }
    const team = r.attribution.team ?? NONE;
    // The time part is fixed-width, so time + team is unambiguous; the team is kept in the point, not split back.
    ReportBuilder.addPoint(this.costByHour, `${iso.slice(0, 13)}:00`, team, costNano);
    ReportBuilder.addPoint(this.costByDay, iso.slice(0, 10), team, costNano);

    // A call a middleware of the app answered itself ('unsent') used no capacity and was billed nothing.
    const unsent = r.usageSource === 'unsent';
    if (r.modelKind === 'provisioned-model' && r.fallback === undefined && !unsent) get(this.provisioned, r.modelId, () => new ProvisionedTracker(r.modelId)).served(r, prompt + r.outputTokens);
    if (r.fallback !== undefined && r.fallback.from.startsWith('arn:')) get(this.provisioned, r.fallback.from, () => new ProvisionedTracker(r.fallback?.from ?? '')).spill(r);
    if (r.usageSource === 'none' || unsent) return;

    const feature = r.attribution.feature ?? NONE;
    const g = get(this.groups, keyPart(feature) + r.modelId, () => ({ feature, model: r.modelId, ...emptySums(), prompts: new CountHistogram(), outputs: new CountHistogram() }));
    addSums(g, r, costNano);
    g.prompts.add(prompt);
    g.outputs.add(r.outputTokens);
    get(this.inflation, feature, () => new TimedSeries()).add(r.startedAt, prompt);
    this.maxTokens.add(r, feature);
    const ratio = get(this.ratio, feature, () => ({ input: 0, output: 0 }));
    ratio.input += prompt;
    ratio.output += r.outputTokens;
    if (r.attribution.interactive === 'false' || r.attribution.batch === 'true') {
      const b = get(this.batch, feature, () => ({ calls: 0, costNano: new NanoSum() }));
      b.calls++;
      b.costNano.add(costNano);
    }
    if (r.cacheReadInputTokens > 0 || r.cacheWriteInputTokens > 0) {
      const card = this.cardOf(r.modelId, r.startedAt);
      const input = rateOf(card?.input);
      if (card === undefined || input === undefined) return;
      const read = rateOf(card.cacheRead) ?? input;
      const write = rateOf(card.cacheWrite) ?? input;
      // What caching saved on reads, less what the writes cost above plain input ($/M × tokens = µUSD; ×1000 = nano).
      this.cacheSaved.add(Math.round((r.cacheReadInputTokens * (input - read) - r.cacheWriteInputTokens * (write - input)) * 1000));
    }
  }

  /** The report over everything added so far. */
  build(): Report {
    const o = this.options;
    const hasRecords = this.first !== Infinity;
    const start = o.since ?? (hasRecords ? this.first : Date.now());
    const end = o.until === undefined ? (hasRecords ? this.last : start) : billedUntil(o.until, this.last, o.now);
    const config: Record<string, LedgerProvisioned> = mergeHeaders(this.headers);
    for (const [arn, p] of Object.entries(o.provisioned ?? {})) config[arn] = { ...config[arn], ...p };
    for (const arn of Object.keys(config)) get(this.provisioned, arn, () => new ProvisionedTracker(arn));
    const provisioned = [...this.provisioned.values()].map((t) => t.finish(config[t.arn], start, end)).sort((a, b) => a.arn.localeCompare(b.arn));
    const commitment = new NanoSum();
    for (const t of this.provisioned.values()) commitment.addExact(t.commitmentNano ?? 0n);
    const toRow = (key: string, row: Row): BreakdownRow => ({ key, keys: row.keys, calls: row.calls, inputTokens: row.inputTokens, outputTokens: row.outputTokens, cacheReadTokens: row.cacheReadTokens, cacheWriteTokens: row.cacheWriteTokens, costUsd: row.costNano.usd, costUsdDecimal: row.costNano.decimal });
    const t = this.totals;
    const total = t.costNano.value + commitment.value;
    const groups = [...this.groups.values()];
    const maxTokens = this.maxTokens.rows();
    const bucket: 'hour' | 'day' = hasRecords && this.last - this.first > 2 * 86_400_000 ? 'day' : 'hour';
    return {
      from: hasRecords ? new Date(this.first).toISOString() : undefined,
      to: hasRecords ? new Date(this.last).toISOString() : undefined,
      window: { since: o.since === undefined ? undefined : new Date(o.since).toISOString(), until: o.until === undefined ? undefined : new Date(o.until).toISOString() },
      totals: { ...toRow('total', t), errors: t.errors, unpriced: t.unpriced, commitmentCostUsd: commitment.usd, commitmentCostUsdDecimal: commitment.decimal, totalCostUsd: Number(total) / NANO, totalCostUsdDecimal: nanoDecimal(total) },
      breakdowns: this.specs.map((dims, i) => ({
        dimension: dims.join(','),
        dimensions: dims,
        rows: [...(this.tables[i] ?? new Map<string, Row>()).values()].map((row) => toRow(dims.map((d) => row.keys[d] ?? NONE).join(' / '), row)).sort((a, b) => b.costUsd - a.costUsd || a.key.localeCompare(b.key)),
      })),
      inputPercentiles: groups
        .map((g) => {
          const [p50 = 0, p95 = 0, p99 = 0] = g.prompts.percentiles([50, 95, 99]);
          return { feature: g.feature, model: g.model, calls: g.calls, p50, p95, p99 };
        })
        .sort((a, b) => a.feature.localeCompare(b.feature) || a.model.localeCompare(b.model)),
      contextInflation: [...this.inflation]
        .filter(([, s]) => s.length >= 6)
        .map(([feature, s]) => {
          const { early, late } = s.thirdMedians();
          return { feature, earlyMedian: early, lateMedian: late, growth: early === 0 ? 0 : late / early - 1 };
        })
        .sort((a, b) => b.growth - a.growth),
      maxTokens,
      outputInputRatio: [...this.ratio].map(([feature, x]) => ({ feature, ratio: x.input === 0 ? 0 : x.output / x.input, inputTokens: x.input, outputTokens: x.output })).sort((a, b) => b.ratio - a.ratio),
      cache: {
        readShare: t.inputTokens === 0 ? 0 : t.cacheReadTokens / t.inputTokens,
        writeShare: t.inputTokens === 0 ? 0 : t.cacheWriteTokens / t.inputTokens,
        readTokens: t.cacheReadTokens,
        writeTokens: t.cacheWriteTokens,
        savedUsd: this.cacheSaved.usd,
      },
      provisioned,
      hints: [...buildHints(groups, this.batch, (id) => this.cardOf(id, end)), ...MaxTokensTracker.hints(maxTokens)],
      costOverTime: {
        bucket,
        points: [...(bucket === 'day' ? this.costByDay : this.costByHour).values()].map((p) => ({ at: p.at, team: p.team, costUsd: p.costNano.usd })),
      },
    };
  }
}
