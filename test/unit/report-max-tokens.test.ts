import { describe, expect, it } from 'vitest';
import { parseRecord } from '../../src/ledger/parse-record.js';
import { fromRow, toRow, SQLITE_COLUMNS } from '../../src/ledger/sqlite-schema.js';
import { fromLogAttributes, toLogAttributes } from '../../src/ledger/otel-attributes.js';
import { analyze, renderText } from '../../src/report/index.js';
import { usageRecord } from '../helpers/usage-records.js';

const SONNET = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const call = (feature: string, maxTokens: number | undefined, outputTokens: number, i: number) =>
  usageRecord({ startedAt: Date.UTC(2026, 0, 1) + i * 1_000, modelId: SONNET, attribution: { feature }, inputTokens: 500, outputTokens, ...(maxTokens === undefined ? {} : { maxTokens }) });

describe('maxTokens advice in the report', () => {
  const records = [
    // Asks for 4096, uses at most 300: Bedrock reserves 4096 × 5 of the quota per call for nothing.
    ...Array.from({ length: 100 }, (_, i) => call('summary', 4_096, 100 + (i % 7) * 30, i)),
    // Uses what it asks for.
    ...Array.from({ length: 20 }, (_, i) => call('draft', 1_000, 900 + i, 100 + i)),
    // Sets none: nothing to compare.
    ...Array.from({ length: 20 }, (_, i) => call('free', undefined, 50, 200 + i)),
  ];
  const report = analyze(records);

  it('gives P99 of output ÷ maxTokens per feature and model, for features with at least 5 calls that set one', () => {
    expect(report.maxTokens).toEqual([
      { feature: 'summary', model: SONNET, calls: 100, maxTokensP50: 4_096, outputP99: 280, p99OutputShare: 0.068, suggestedMaxTokens: 350 },
      { feature: 'draft', model: SONNET, calls: 20, maxTokensP50: 1_000, outputP99: 919, p99OutputShare: 0.919, suggestedMaxTokens: 1_149 },
    ]);
  });

  it('suggests a lower maxTokens where 99% of calls use under half of it, with the quota it frees (× the burndown)', () => {
    const hints = report.hints.filter((h) => h.kind === 'max-tokens');
    expect(hints).toHaveLength(1);
    expect(hints[0]).toMatchObject({ feature: 'summary', model: SONNET, savingsUsd: undefined });
    expect(hints[0]?.detail).toContain('set maxTokens to about 350');
    expect(hints[0]?.detail).toContain(`frees ${(4_096 - 350) * 5} quota tokens per call in flight`);
    expect(renderText(report)).toMatch(/^summary\s+\S+\s+100\s+4,096\s+280\s+6\.8%$/m);
  });

  it('keeps maxTokens through every ledger format (JSON Lines, SQLite rows, OpenTelemetry log attributes), and reads records without it', () => {
    const r = call('summary', 4_096, 120, 0);
    expect(parseRecord(JSON.parse(JSON.stringify(r)))).toMatchObject({ maxTokens: 4_096 });
    const row = Object.fromEntries(SQLITE_COLUMNS.map((c, i) => [c, toRow(r)[i]]));
    expect(parseRecord({ ...fromRow(row), startedAt: r.startedAt })).toMatchObject({ maxTokens: 4_096 });
    expect(parseRecord(fromLogAttributes(toLogAttributes(r)))).toMatchObject({ maxTokens: 4_096 });
    const { maxTokens: _, ...older } = r;
    expect(parseRecord(JSON.parse(JSON.stringify(older)))).toMatchObject({ maxTokens: undefined });
    expect(parseRecord({ ...JSON.parse(JSON.stringify(r)), maxTokens: 'lots' })).toBe('mistyped');
  });
});
