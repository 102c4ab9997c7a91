import { ModelResolver } from '../model/model-resolver.js';
import { OnceReporter } from '../diagnostics.js';
import { DEFAULT_SERVICE_TIER_MULTIPLIERS, Pricer } from '../pricing/pricer.js';
import type { RateCard } from '../pricing/rate-card.js';
import type { UsageRecord } from '../record.js';

/** Provisioned-throughput facts the ledger does not hold. */
export interface ReportProvisioned {
  readonly modelUnits?: number;
  readonly hourlyCostUsd?: number;
  /** Tokens per minute one model unit serves (from your capacity tests or AWS guidance), for utilization. */
  readonly tokensPerMinutePerUnit?: number;
}

export interface ReportOptions {
  /** Dimensions to break cost down by: attribution keys, `model` or `day`. @defaultValue `['team', 'feature', 'model', 'day']` */
  readonly by?: readonly string[];
  readonly provisioned?: Readonly<Record<string, ReportProvisioned>>;
}

export interface BreakdownRow {
  readonly key: string;
  calls: number;
  /** Input tokens including cache reads and writes (the whole prompt). */
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  costUsd: number;
}

export interface Report {
  readonly from: string | undefined;
  readonly to: string | undefined;
  readonly totals: BreakdownRow & { errors: number; unpriced: number };
  readonly breakdowns: readonly { readonly dimension: string; readonly rows: readonly BreakdownRow[] }[];
  readonly inputPercentiles: readonly { feature: string; model: string; calls: number; p50: number; p95: number; p99: number }[];
  readonly contextInflation: readonly { feature: string; earlyMedian: number; lateMedian: number; growth: number }[];
  readonly outputInputRatio: readonly { feature: string; ratio: number }[];
  readonly cache: { readShare: number; writeShare: number; readTokens: number; writeTokens: number; savedUsd: number };
  readonly provisioned: readonly {
    arn: string;
    calls: number;
    spilled: number;
    tokens: number;
    tokensPerMinute: number;
    utilization: number | undefined;
    onDemandEquivalentUsd: number;
    hours: number;
    hourlyCostUsd: number | undefined;
    breakEvenUtilization: number | undefined;
  }[];
  readonly hints: readonly { kind: 'smaller-model' | 'batch'; feature: string; model: string | undefined; detail: string; savingsUsd: number | undefined }[];
  readonly costOverTime: { readonly bucket: 'hour' | 'day'; readonly points: readonly { at: string; team: string; costUsd: number }[] };
}

const NONE = '(none)';

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
}

const promptTokens = (r: UsageRecord): number => r.inputTokens + r.cacheReadInputTokens + r.cacheWriteInputTokens;

function emptyRow(key: string): BreakdownRow {
  return { key, calls: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0 };
}

function addTo(row: BreakdownRow, r: UsageRecord): void {
  row.calls++;
  row.inputTokens += promptTokens(r);
  row.outputTokens += r.outputTokens;
  row.cacheReadTokens += r.cacheReadInputTokens;
  row.cacheWriteTokens += r.cacheWriteInputTokens;
  row.costUsd += r.costUsd ?? 0;
}

function dimensionValue(r: UsageRecord, dimension: string): string {
  if (dimension === 'model') return r.modelId;
  if (dimension === 'day') return new Date(r.startedAt).toISOString().slice(0, 10);
  if (dimension === 'operation') return r.operation;
  return r.attribution[dimension] ?? NONE;
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    let list = m.get(k);
    if (list === undefined) m.set(k, (list = []));
    list.push(it);
  }
  return m;
}

const rateOf = (rate: RateCard['input'] | undefined): number | undefined => (rate === undefined ? undefined : typeof rate === 'number' ? rate : rate.base);

/**
 * The FinOps report of a ledger: cost and tokens by any dimension, prompt-size percentiles and
 * growth, output/input ratios, cache effectiveness, provisioned break-even, right-sizing and
 * batch hints. Pure: the same records give the same report.
 */
export function analyze(records: readonly UsageRecord[], options: ReportOptions = {}): Report {
  const sorted = [...records].sort((a, b) => a.startedAt - b.startedAt);
  const pricer = new Pricer({ overrides: new Map(), discount: 0, serviceTiers: DEFAULT_SERVICE_TIER_MULTIPLIERS, reporter: new OnceReporter() });
  const resolver = new ModelResolver(new Map(), (pricedAs, target, at) => pricer.rateCard(pricedAs, target, at));
  const cardOf = (r: UsageRecord): RateCard | undefined => resolver.resolve(r.modelId, r.startedAt).price;

  const totals = { ...emptyRow('total'), errors: 0, unpriced: 0 };
  for (const r of sorted) {
    addTo(totals, r);
    if (r.error !== undefined) totals.errors++;
    if (r.costUsd === undefined && r.usageSource !== 'none') totals.unpriced++;
  }

  const breakdowns = (options.by ?? ['team', 'feature', 'model', 'day']).map((dimension) => {
    const rows = new Map<string, BreakdownRow>();
    for (const r of sorted) {
      const k = dimensionValue(r, dimension);
      let row = rows.get(k);
      if (row === undefined) rows.set(k, (row = emptyRow(k)));
      addTo(row, r);
    }
    return { dimension, rows: [...rows.values()].sort((a, b) => b.costUsd - a.costUsd || a.key.localeCompare(b.key)) };
  });

  const metered = sorted.filter((r) => r.usageSource !== 'none');
  const feature = (r: UsageRecord): string => r.attribution.feature ?? NONE;

  const inputPercentiles = [...groupBy(metered, (r) => `${feature(r)}\u0000${r.modelId}`)].map(([k, rs]) => {
    const [f = NONE, model = ''] = k.split('\u0000');
    const sizes = rs.map(promptTokens).sort((a, b) => a - b);
    return { feature: f, model, calls: rs.length, p50: percentile(sizes, 50), p95: percentile(sizes, 95), p99: percentile(sizes, 99) };
  });
  inputPercentiles.sort((a, b) => a.feature.localeCompare(b.feature) || a.model.localeCompare(b.model));

  // Context inflation: the median prompt of a feature's last third of calls against its first third.
  const contextInflation = [...groupBy(metered, feature)]
    .filter(([, rs]) => rs.length >= 6)
    .map(([f, rs]) => {
      const third = Math.floor(rs.length / 3);
      const early = rs.slice(0, third).map(promptTokens).sort((a, b) => a - b);
      const late = rs.slice(rs.length - third).map(promptTokens).sort((a, b) => a - b);
      const earlyMedian = percentile(early, 50);
      const lateMedian = percentile(late, 50);
      return { feature: f, earlyMedian, lateMedian, growth: earlyMedian === 0 ? 0 : lateMedian / earlyMedian - 1 };
    })
    .sort((a, b) => b.growth - a.growth);

  const outputInputRatio = [...groupBy(metered, feature)]
    .map(([f, rs]) => {
      const input = rs.reduce((s, r) => s + promptTokens(r), 0);
      const output = rs.reduce((s, r) => s + r.outputTokens, 0);
      return { feature: f, ratio: input === 0 ? 0 : output / input };
    })
    .sort((a, b) => b.ratio - a.ratio);

  let savedUsd = 0;
  for (const r of metered) {
    if (r.cacheReadInputTokens === 0 && r.cacheWriteInputTokens === 0) continue;
    const card = cardOf(r);
    const input = rateOf(card?.input);
    if (card === undefined || input === undefined) continue;
    const read = rateOf(card.cacheRead) ?? input;
    const write = rateOf(card.cacheWrite) ?? input;
    // What caching saved on reads, less what the writes cost above plain input.
    savedUsd += (r.cacheReadInputTokens * (input - read) - r.cacheWriteInputTokens * (write - input)) / 1e6;
  }
  const prompt = totals.inputTokens;
  const cache = {
    readShare: prompt === 0 ? 0 : totals.cacheReadTokens / prompt,
    writeShare: prompt === 0 ? 0 : totals.cacheWriteTokens / prompt,
    readTokens: totals.cacheReadTokens,
    writeTokens: totals.cacheWriteTokens,
    savedUsd,
  };

  const first = sorted[0]?.startedAt;
  const last = sorted.at(-1)?.startedAt;
  const spanMinutes = first === undefined || last === undefined ? 0 : Math.max(1, (last - first) / 60_000);
  const arns = new Set([...sorted.filter((r) => r.modelKind === 'provisioned-model').map((r) => r.modelId), ...Object.keys(options.provisioned ?? {})]);
  const provisioned = [...arns].map((arn) => {
    const served = sorted.filter((r) => r.modelId === arn);
    const spilled = sorted.filter((r) => r.fallback?.from === arn).length;
    const tokens = served.reduce((s, r) => s + promptTokens(r) + r.outputTokens, 0);
    const onDemandEquivalentUsd = served.reduce((s, r) => s + (r.onDemandEquivalentUsd ?? 0), 0);
    const config = options.provisioned?.[arn];
    const tokensPerMinute = tokens / spanMinutes;
    const capacity = config?.modelUnits !== undefined && config.tokensPerMinutePerUnit !== undefined ? config.modelUnits * config.tokensPerMinutePerUnit : undefined;
    const perToken = tokens === 0 ? 0 : onDemandEquivalentUsd / tokens;
    // The commitment pays off when the on-demand price of the traffic it serves reaches its hourly cost.
    const breakEvenUtilization = capacity !== undefined && config?.hourlyCostUsd !== undefined && perToken > 0 ? config.hourlyCostUsd / (perToken * capacity * 60) : undefined;
    return {
      arn,
      calls: served.length,
      spilled,
      tokens,
      tokensPerMinute,
      utilization: capacity === undefined ? undefined : tokensPerMinute / capacity,
      onDemandEquivalentUsd,
      hours: spanMinutes / 60,
      hourlyCostUsd: config?.hourlyCostUsd,
      breakEvenUtilization,
    };
  });

  const hints: Report['hints'][number][] = [];
  for (const [k, rs] of groupBy(metered, (r) => `${feature(r)}\u0000${r.modelId}`)) {
    const [f = NONE, model = ''] = k.split('\u0000');
    const first = rs[0];
    if (rs.length < 5 || first === undefined) continue;
    const input = rateOf(cardOf(first)?.input);
    const outputs = rs.map((r) => r.outputTokens).sort((a, b) => a - b);
    const medianOut = percentile(outputs, 50);
    if (input !== undefined && input >= 2.5 && medianOut < 300)
      hints.push({ kind: 'smaller-model', feature: f, model, detail: `${model} ($${input}/M input) answers ${f} with a median of ${medianOut} output tokens: try a smaller tier`, savingsUsd: undefined });
  }
  for (const [f, rs] of groupBy(metered, feature)) {
    const batch = rs.filter((r) => r.attribution.interactive === 'false' || r.attribution.batch === 'true');
    if (batch.length === 0) continue;
    const cost = batch.reduce((s, r) => s + (r.costUsd ?? 0), 0);
    hints.push({ kind: 'batch', feature: f, model: undefined, detail: `${batch.length} calls of ${f} are marked non-interactive: Bedrock batch inference costs 50% less`, savingsUsd: cost * 0.5 });
  }

  const bucket: 'hour' | 'day' = spanMinutes > 2 * 24 * 60 ? 'day' : 'hour';
  const points = new Map<string, { at: string; team: string; costUsd: number }>();
  for (const r of sorted) {
    const iso = new Date(r.startedAt).toISOString();
    const at = bucket === 'day' ? iso.slice(0, 10) : `${iso.slice(0, 13)}:00`;
    const team = r.attribution.team ?? NONE;
    const key = `${at}\u0000${team}`;
    const p = points.get(key) ?? { at, team, costUsd: 0 };
    p.costUsd += r.costUsd ?? 0;
    points.set(key, p);
  }

  return {
    from: first === undefined ? undefined : new Date(first).toISOString(),
    to: last === undefined ? undefined : new Date(last).toISOString(),
    totals,
    breakdowns,
    inputPercentiles,
    contextInflation,
    outputInputRatio,
    cache,
    provisioned,
    hints,
    costOverTime: { bucket, points: [...points.values()] },
  };
}
