import { describe, expect, it } from 'vitest';
import { parseRecord } from '../../src/ledger/parse-record.js';
import { fromRow, toRow, SQLITE_COLUMNS } from '../../src/ledger/sqlite-schema.js';
import { fromLogAttributes, toLogAttributes } from '../../src/ledger/otel-attributes.js';
import { analyze } from '../../src/report/index.js';
import { usageRecord } from '../helpers/usage-records.js';

/**
 * Calls a middleware of the app answered itself (`usageSource: 'unsent'`: nothing sent, 0 tokens,
 * $0) keep that source through every ledger format, and the report counts them as calls but
 * leaves them out of what billed calls are measured by (per-feature averages, maxTokens advice).
 */
const SONNET = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const billed = (i: number) => usageRecord({ startedAt: Date.UTC(2026, 0, 1) + i * 1_000, modelId: SONNET, attribution: { feature: 'chat' }, inputTokens: 500, outputTokens: 300, maxTokens: 400, usageSource: 'usage' });
const unsent = (i: number) =>
  usageRecord({ startedAt: Date.UTC(2026, 0, 1) + i * 1_000, modelId: SONNET, attribution: { feature: 'chat' }, inputTokens: 0, outputTokens: 0, costUsd: 0, maxTokens: 400, usageSource: 'unsent' });

describe("usageSource 'unsent' in ledgers and the report", () => {
  it('reads back as unsent from JSON Lines, SQLite rows and OpenTelemetry log attributes (before: JSON Lines read it as usage, billed)', () => {
    const r = unsent(0);
    expect(parseRecord(JSON.parse(JSON.stringify(r)))).toMatchObject({ usageSource: 'unsent' });
    const row = Object.fromEntries(SQLITE_COLUMNS.map((c, i) => [c, toRow(r)[i]]));
    expect(parseRecord({ ...fromRow(row), startedAt: r.startedAt })).toMatchObject({ usageSource: 'unsent' });
    expect(parseRecord(fromLogAttributes(toLogAttributes(r)))).toMatchObject({ usageSource: 'unsent' });
  });

  it('counts them as calls but not in the per-feature averages or the maxTokens advice (before: the 90 cached calls, 0 output each, counted in the maxTokens advice)', () => {
    const report = analyze([...Array.from({ length: 10 }, (_, i) => billed(i)), ...Array.from({ length: 90 }, (_, i) => unsent(10 + i))]);
    expect(report.totals.calls).toBe(100);
    expect(report.maxTokens).toEqual([{ feature: 'chat', model: SONNET, calls: 10, maxTokensP50: 400, outputP99: 300, p99OutputShare: 0.75, suggestedMaxTokens: 375 }]);
    expect(report.hints.filter((h) => h.kind === 'max-tokens')).toEqual([]);
  });
});
