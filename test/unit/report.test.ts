import { describe, expect, it } from 'vitest';
import { analyze, renderHtml, renderText } from '../../src/report/index.js';
import { type UsageRecord } from '../../src/index.js';

const SONNET = 'global.anthropic.claude-sonnet-4-5-20250929-v1:0';
const MICRO = 'amazon.nova-micro-v1:0';
const ARN = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/p1';
const T0 = Date.UTC(2026, 10, 20, 9);

function rec(over: Partial<UsageRecord> & { startedAt: number }): UsageRecord {
  return {
    operation: 'Converse',
    requestedModelId: over.modelId ?? MICRO,
    modelId: MICRO,
    modelKind: 'foundation-model',
    baseModelId: undefined,
    attribution: {},
    inputTokens: 0,
    outputTokens: 0,
    cacheReadInputTokens: 0,
    speechInputTokens: 0,
    speechOutputTokens: 0,
    performanceLatency: undefined,
    cacheWriteInputTokens: 0,
    cacheWrite1hInputTokens: 0,
    serviceTier: undefined,
    usageSource: 'usage',
    costUsd: 0,
    onDemandEquivalentUsd: undefined,
    durationMs: 100,
    timeToFirstChunkMs: undefined,
    fallback: undefined,
    outcome: 'success',
    error: undefined,
    requestId: undefined,
    ...over,
  };
}

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

  it('reports provisioned utilization and break-even utilization', () => {
    const p = report.provisioned[0]!;
    const span = (Math.max(...ledger().map((r) => r.startedAt)) - Math.min(...ledger().map((r) => r.startedAt))) / 60_000;
    expect(p).toMatchObject({ arn: ARN, calls: 30, tokens: 36_000 });
    expect(p.onDemandEquivalentUsd).toBeCloseTo(0.12, 12);
    expect(p.tokensPerMinute).toBeCloseTo(36_000 / span, 9);
    expect(p.utilization).toBeCloseTo(36_000 / span / 2_000, 9);
    // $10/h against on-demand $0.12 per 36,000 tokens at a capacity of 2,000 tokens/min.
    expect(p.breakEvenUtilization).toBeCloseTo(10 / ((0.12 / 36_000) * 2_000 * 60), 9);
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
    expect(html).toContain('id="cost-over-time"');
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
  });
});
