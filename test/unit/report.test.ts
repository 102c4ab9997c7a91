import { describe, expect, it } from 'vitest';
import { analyze, renderCsv, renderHtml, renderText } from '../../src/report/index.js';
import { type UsageRecord } from '../../src/index.js';
import { usageRecord } from '../helpers/usage-records.js';

const SONNET = 'global.anthropic.claude-sonnet-4-5-20250929-v1:0';
const MICRO = 'amazon.nova-micro-v1:0';
const ARN = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/p1';
const T0 = Date.UTC(2026, 10, 20, 9);

const rec = usageRecord;

// A generated ledger with known totals:
// - team a / feature chat on Sonnet: 100 calls, prompt i tokens (1…100, growing over time), 50 output, $0.01 each;
// - team b / feature index on Nova Micro, marked non-interactive: 40 calls, $0.002 each;
// - team a / feature chat with cache: 10 calls reading 10,000 and writing 1,000 cached tokens on Sonnet, $0.005 each;
// - a provisioned ARN serving 30 calls of 1,000 + 200 tokens over one hour, $0.004 on-demand equivalent each.
function ledger(): UsageRecord[] {
  const out: UsageRecord[] = [];
  for (let i = 1; i <= 100; i++)
    out.push(rec({ startedAt: T0 + i * 30_000, modelId: SONNET, modelKind: 'inference-profile', attribution: { team: 'a', feature: 'chat' }, inputTokens: i, outputTokens: 50, costUsd: 0.01 }));
  for (let i = 0; i < 40; i++) out.push(rec({ startedAt: T0 + i * 60_000, attribution: { team: 'b', feature: 'index', interactive: 'false' }, inputTokens: 500, costUsd: 0.002 }));
  for (let i = 0; i < 10; i++)
    out.push(rec({ startedAt: T0 + 5_000 + i, modelId: SONNET, modelKind: 'inference-profile', attribution: { team: 'a', feature: 'chat' }, inputTokens: 1, cacheReadInputTokens: 10_000, cacheWriteInputTokens: 1_000, outputTokens: 50, costUsd: 0.005 }));
  for (let i = 0; i < 30; i++)
    out.push(rec({ startedAt: T0 + i * 120_000, modelId: ARN, requestedModelId: ARN, modelKind: 'provisioned-model', attribution: { team: 'c', feature: 'triage' }, inputTokens: 1_000, outputTokens: 200, costUsd: 0, onDemandEquivalentUsd: 0.004 }));
  return out;
}

describe('analyze', () => {
  const report = analyze(ledger(), { provisioned: { [ARN]: { modelUnits: 2, hourlyCostUsd: 10, tokensPerMinutePerUnit: 1_000 } } });

  it('totals and breaks cost down by each dimension, every breakdown adding up to the total', () => {
    expect(report.totals.calls).toBe(180);
    expect(report.totals.costUsd).toBeCloseTo(100 * 0.01 + 40 * 0.002 + 10 * 0.005, 12);
    const byTeam = Object.fromEntries(report.breakdowns[0]!.rows.map((r) => [r.key, r.costUsd]));
    expect(byTeam.a).toBeCloseTo(1.05, 12);
    expect(byTeam.b).toBeCloseTo(0.08, 12);
    expect(byTeam.c).toBe(0);
    for (const b of report.breakdowns) expect(b.rows.reduce((s, r) => s + r.costUsd, 0)).toBeCloseTo(report.totals.costUsd, 12);
    expect(report.breakdowns.map((b) => b.dimension)).toEqual(['team', 'feature', 'model', 'day']);
  });

  it('computes prompt-size percentiles per feature and model (cache included)', () => {
    const chat = report.inputPercentiles.find((p) => p.feature === 'chat' && p.model === SONNET)!;
    expect(chat.calls).toBe(110);
    // 100 prompts of 1…100 tokens and 10 of 11,001: P50 is the 55th smallest.
    expect(chat).toMatchObject({ p50: 55, p95: 11_001, p99: 11_001 });
  });

  it('finds context inflation and output/input ratios', () => {
    const chatOnly = analyze(ledger().filter((r) => r.attribution.feature === 'chat' && r.cacheReadInputTokens === 0));
    const inflation = chatOnly.contextInflation.find((c) => c.feature === 'chat')!;
    // First third: prompts 1…33 (median 17); last third: 68…100 (median 84).
    expect(inflation).toMatchObject({ earlyMedian: 17, lateMedian: 84 });
    expect(inflation.growth).toBeCloseTo(84 / 17 - 1, 12);
    expect(chatOnly.outputInputRatio[0]).toMatchObject({ feature: 'chat' });
    expect(chatOnly.outputInputRatio[0]!.ratio).toBeCloseTo((100 * 50) / 5050, 12);
  });

  it('measures cache read and write shares and what caching saved at the published rates', () => {
    // Sonnet 4.5 global: $3 input, $0.30 cache read, $3.75 cache write per million.
    expect(report.cache.readTokens).toBe(100_000);
    expect(report.cache.writeTokens).toBe(10_000);
    expect(report.cache.savedUsd).toBeCloseTo((100_000 * (3 - 0.3) - 10_000 * (3.75 - 3)) / 1e6, 12);
    expect(report.cache.readShare).toBeCloseTo(100_000 / report.totals.inputTokens, 12);
  });

  it('reports provisioned use over the period’s whole hours, break-even, the commitment’s cost and a verdict', () => {
    const p = report.provisioned[0]!;
    // 30 calls of 1,200 tokens between 09:00 and 09:58: one paid hour at 2 units × 1,000 tokens/min.
    expect(p).toMatchObject({ arn: ARN, calls: 30, tokens: 36_000, hours: 1, modelUnits: 2, capacityTokensPerMinute: 2_000, capacitySource: 'configured' });
    expect(p.onDemandEquivalentUsd).toBeCloseTo(0.12, 12);
    expect(p.tokensPerMinute).toBe(600);
    expect(p.utilization).toBeCloseTo(0.3, 12);
    expect(p.peakHours[0]).toMatchObject({ at: '2026-11-20T09:00:00.000Z', calls: 30, tokens: 36_000 });
    // $10/h against on-demand $0.12 per 36,000 tokens at a capacity of 2,000 tokens/min.
    expect(p.breakEvenUtilization).toBeCloseTo(10 / ((0.12 / 36_000) * 2_000 * 60), 9);
    expect(p.commitmentCostUsd).toBe(10);
    expect(p.verdict).toEqual({ decision: 'drop-or-shrink', text: 'drop or shrink: 30% average use, break-even 2500%' });
    expect(report.totals.commitmentCostUsd).toBe(10);
    expect(report.totals.totalCostUsd).toBeCloseTo(report.totals.costUsd + 10, 12);
  });

  it('hints smaller models for short answers on expensive ones, and batch for non-interactive features', () => {
    expect(report.hints.find((h) => h.kind === 'smaller-model')).toMatchObject({ feature: 'chat', model: SONNET });
    const batch = report.hints.find((h) => h.kind === 'batch')!;
    expect(batch.feature).toBe('index');
    expect(batch.savingsUsd).toBeCloseTo(0.04, 12);
  });

  it('renders text and a self-contained HTML page', () => {
    const text = renderText(report);
    expect(text).toContain('Cost and tokens by team');
    expect(text).toContain('Provisioned throughput');
    const html = renderHtml(report);
    expect(html).toContain('data-chart="cost-over-time"');
    expect(html).not.toMatch(/<script(?![^>]*type="application\/json")/);
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
  });
});

describe('the report, beyond one table per dimension', () => {
  it('groups by a combination of dimensions (a cross-tab), each row naming every value', () => {
    const r = analyze(ledger(), { by: [['team', 'model'], 'day'] });
    expect(r.breakdowns.map((b) => [b.dimension, b.dimensions])).toEqual([
      ['team,model', ['team', 'model']],
      ['day', ['day']],
    ]);
    const rows = r.breakdowns[0]!.rows.map((x) => [x.keys.team, x.keys.model, x.calls]);
    expect(rows).toEqual([
      ['a', SONNET, 110],
      ['b', MICRO, 40],
      ['c', ARN, 30],
    ]);
    expect(r.breakdowns[0]!.rows[0]!.key).toBe(`a / ${SONNET}`);
  });

  it('adds money up as integers: ten calls of $0.10 cost exactly $1', () => {
    const r = analyze(Array.from({ length: 10 }, (_, i) => rec({ startedAt: T0 + i, costUsd: 0.1 })));
    // A float sum gives 0.9999999999999999.
    expect(r.totals.costUsd).toBe(1);
    expect(r.breakdowns.find((b) => b.dimension === 'day')!.rows[0]!.costUsd).toBe(1);
  });

  it('computes exact nearest-rank percentiles in memory bounded by distinct sizes', () => {
    let seed = 7;
    const random = () => (seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647;
    const sizes = Array.from({ length: 5_000 }, () => Math.floor(random() * 3_000));
    const r = analyze(sizes.map((n, i) => rec({ startedAt: T0 + i, inputTokens: n, attribution: { feature: 'f' } })));
    const sorted = [...sizes].sort((a, b) => a - b);
    const nearest = (p: number) => sorted[Math.ceil((p / 100) * sorted.length) - 1];
    expect(r.inputPercentiles[0]).toMatchObject({ calls: 5_000, p50: nearest(50), p95: nearest(95), p99: nearest(99) });
  });

  it('says keep when the commitment pays for itself, with average use and break-even in the verdict', () => {
    // 1 unit × 1,000 tokens/min; 46 calls × 1,200 tokens each hour for two hours = 92% use;
    // on-demand $10 / (0.64 × 60,000) per token, so break-even is 64% at $10 an hour.
    const perToken = 10 / (0.64 * 60_000);
    const records = [0, 1].flatMap((h) => Array.from({ length: 46 }, (_, i) => rec({ startedAt: T0 + h * 3_600_000 + i * 60_000, modelId: ARN, modelKind: 'provisioned-model', inputTokens: 1_000, outputTokens: 200, costUsd: 0, onDemandEquivalentUsd: 1_200 * perToken })));
    const p = analyze(records, { provisioned: { [ARN]: { modelUnits: 1, hourlyCostUsd: 10, tokensPerMinutePerUnit: 1_000 } } }).provisioned[0]!;
    expect(p.hours).toBe(2);
    expect(p.utilization).toBeCloseTo(0.92, 12);
    expect(p.breakEvenUtilization).toBeCloseTo(0.64, 12);
    expect(p.verdict).toEqual({ decision: 'keep', text: 'keep: 92% average use, break-even 64%' });
    expect(p.coverage).toBeCloseTo(0.92 / 0.64, 9);
  });

  it('estimates capacity from the minutes in which calls spilled, and counts idle hours as paid', () => {
    // Minute 0 of hour 1 serves 3,000 tokens and spills 5 calls: the commitment is full at 3,000 tokens/min.
    const served = [0, 1, 2].map((i) => rec({ startedAt: T0 + i * 1_000, modelId: ARN, modelKind: 'provisioned-model', inputTokens: 900, outputTokens: 100, costUsd: 0, onDemandEquivalentUsd: 0.01 }));
    const spilled = Array.from({ length: 5 }, (_, i) => rec({ startedAt: T0 + 5_000 + i, modelId: MICRO, fallback: { from: ARN, reason: 'ThrottlingException' }, costUsd: 0.001 }));
    // The period runs ten hours (--since/--until): nine of them idle.
    const r = analyze([...served, ...spilled], { since: T0, until: T0 + 10 * 3_600_000, provisioned: { [ARN]: { hourlyCostUsd: 2 } } });
    const p = r.provisioned[0]!;
    expect(p).toMatchObject({ calls: 3, spilled: 5, capacityTokensPerMinute: 3_000, capacitySource: 'estimated-from-spills', hours: 10, commitmentCostUsd: 20 });
    expect(p.utilization).toBeCloseTo(3_000 / (10 * 60) / 3_000, 12);
    expect(p.peakHours[0]).toMatchObject({ spilled: 5, utilization: 3_000 / 60 / 3_000 });
    expect(p.verdict.decision).toBe('drop-or-shrink');
    expect(p.verdict.text).toContain('5 calls spilled');
    expect(r.totals.totalCostUsd).toBeCloseTo(20.005, 12);
  });

  it('shows a commitment from the ledger header even when no call used it, and no verdict without an hourly cost', () => {
    const r = analyze([rec({ startedAt: T0, costUsd: 0.5 })], { provisioned: { [ARN]: { modelUnits: 1 } } });
    expect(r.provisioned).toHaveLength(1);
    expect(r.provisioned[0]).toMatchObject({ calls: 0, verdict: { decision: 'unknown' } });
  });

  it('renders the breakdowns as CSV, one column per dimension, cost with nine decimals', () => {
    const csv = renderCsv(analyze(ledger(), { by: [['team', 'model'], 'day'] }));
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe('breakdown,team,model,day,calls,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,cost_usd');
    expect(lines[1]).toBe(`"team,model",a,${SONNET},,110,115060,5500,100000,10000,1.050000000`);
    expect(lines.at(-1)).toBe('day,,,2026-11-20,180,165060,11500,100000,10000,1.130000000');
  });

  it('prices the smaller-model hint: the same tokens on the next tier down', () => {
    const hint = analyze(ledger()).hints.find((h) => h.kind === 'smaller-model')!;
    expect(hint.alternative).toBe('global.anthropic.claude-haiku-4-5-20251001-v1:0');
    // Haiku 4.5 global: $1 input, $5 output, $0.10 cache read, $1.25 cache write per million.
    const haiku = (5_060 * 1 + 5_500 * 5 + 100_000 * 0.1 + 10_000 * 1.25) / 1e6;
    expect(hint.savingsUsd).toBeCloseTo(1.05 - haiku, 9);
    expect(renderText(analyze(ledger()))).toContain(`(would save $${(1.05 - haiku).toFixed(4)})`);
  });
});
