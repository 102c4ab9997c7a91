import { describe, expect, it } from 'vitest';
import { RoutingCounters } from '../../src/fallback/routing-counters.js';
import { analyze, FocusBuilder, type FocusExportOptions } from '../../src/report/index.js';
import type { UsageRecord } from '../../src/index.js';
import { usageRecord } from '../helpers/usage-records.js';

// Attribution values and model ids are untrusted: they may hold U+0000, U+0001 and anything else.
// Every group below must stay its own group, charged its own cost, under its full value, whatever
// a value holds. Before the group keys were length-prefixed, each pair here shared one key.

const T0 = Date.UTC(2026, 10, 20, 9);
const MODEL = 'amazon.nova-micro-v1:0';
const at = (i: number, over: Partial<UsageRecord>): UsageRecord => usageRecord({ startedAt: T0 + i * 1_000, modelId: MODEL, ...over });

function focusRows(records: readonly UsageRecord[], options: FocusExportOptions = {}) {
  const b = new FocusBuilder(options);
  for (const r of records) b.record(r);
  return [...b.rows()].filter((r) => r.x_ChargeSource === 'usage');
}

describe('FOCUS groups (hour × model × tier × attribution)', () => {
  // Same hour, model and tier. Old key: `…\0team\1x\0user\1y` for both (keys sorted: team < user),
  // so the second tenant's $2 went into the first's row (Tags {"team":"x\0user\1y"}, $3, 2 calls).
  const forged = at(1, { attribution: { team: 'x\u0000user\u0001y' }, costUsd: 1 });
  const real = at(2, { attribution: { team: 'x', user: 'y' }, costUsd: 2 });

  it('keeps an attribution value holding the entry separators apart from the entries it imitates (every key kept)', () => {
    const rows = focusRows([forged, real]);
    expect(rows.map((r) => [r.Tags, r.BilledCost, r.x_Calls])).toEqual([
      [JSON.stringify({ team: 'x\u0000user\u0001y' }), '1.000000000', '1'],
      [JSON.stringify({ team: 'x', user: 'y' }), '2.000000000', '1'],
    ]);
  });

  it('keeps them apart with tags chosen too', () => {
    const rows = focusRows([forged, real], { tags: ['team', 'user'] });
    expect(rows.map((r) => [r.Tags, r.BilledCost])).toEqual([
      [JSON.stringify({ team: 'x\u0000user\u0001y' }), '1.000000000'],
      [JSON.stringify({ team: 'x', user: 'y' }), '2.000000000'],
    ]);
  });

  it('keeps a model id holding the separators apart from another model with attribution', () => {
    // Old key for both: `hour\0M\0default\0team\1x\0default` (model, tier, then team entry):
    // the call to model 'M' of team 'x\0default' was charged to the forged model's row.
    const forgedModel = at(1, { modelId: 'M\u0000default\u0000team\u0001x', attribution: {}, costUsd: 1 });
    const other = at(2, { modelId: 'M', attribution: { team: 'x\u0000default' }, costUsd: 2 });
    const rows = focusRows([forgedModel, other]);
    expect(rows.map((r) => [r.ResourceId, r.Tags, r.BilledCost])).toEqual([
      ['M\u0000default\u0000team\u0001x', '{}', '1.000000000'],
      ['M', JSON.stringify({ team: 'x\u0000default' }), '2.000000000'],
    ]);
  });
});

describe('report breakdowns', () => {
  it('keeps combined dimensions apart when a value holds the separator', () => {
    // Old key for both: 'a\0b\0c' (team, feature joined with \0): one row, team 'a\0b', $3.
    const report = analyze([at(1, { attribution: { team: 'a\u0000b', feature: 'c' }, costUsd: 1 }), at(2, { attribution: { team: 'a', feature: 'b\u0000c' }, costUsd: 2 })], { by: [['team', 'feature']] });
    const rows = report.breakdowns[0]!.rows.map((r) => [r.keys, r.costUsd, r.calls]);
    expect(rows).toEqual([
      [{ team: 'a', feature: 'b\u0000c' }, 2, 1],
      [{ team: 'a\u0000b', feature: 'c' }, 1, 1],
    ]);
  });

  it('shows the full team in cost over time, each team with its own cost', () => {
    // Old: the hour key 'hour\0a\0b' was split on \0, so team 'a\0b' was shown as 'a': two points
    // both for team 'a' in the same hour, $1 of them another team's.
    const report = analyze([at(1, { attribution: { team: 'a\u0000b' }, costUsd: 1 }), at(2, { attribution: { team: 'a' }, costUsd: 2 })]);
    expect(report.costOverTime.bucket).toBe('hour');
    expect(report.costOverTime.points).toEqual([
      { at: '2026-11-20T09:00', team: 'a\u0000b', costUsd: 1 },
      { at: '2026-11-20T09:00', team: 'a', costUsd: 2 },
    ]);
  });

  it('shows the full team in daily cost over time', () => {
    // Over more than two days the buckets are days; old day key 'day\0a\0b' was split the same way.
    const report = analyze([
      at(1, { attribution: { team: 'a\u0000b' }, costUsd: 1 }),
      at(2, { attribution: { team: 'a' }, costUsd: 2 }),
      usageRecord({ startedAt: T0 + 3 * 86_400_000, attribution: { team: 'a' }, costUsd: 4 }),
    ]);
    expect(report.costOverTime.bucket).toBe('day');
    expect(report.costOverTime.points).toEqual([
      { at: '2026-11-20', team: 'a\u0000b', costUsd: 1 },
      { at: '2026-11-20', team: 'a', costUsd: 2 },
      { at: '2026-11-23', team: 'a', costUsd: 4 },
    ]);
  });

  // Feature 'f\0m1' on model 'm2' and feature 'f' on model 'm1\0m2': old key 'f\0m1\0m2' for both.
  const crafted = (i: number, maxTokens: number, inputTokens: number) => at(i, { attribution: { feature: 'f\u0000m1' }, modelId: 'm2', inputTokens, outputTokens: 10, maxTokens });
  const victim = (i: number, maxTokens: number, inputTokens: number) => at(100 + i, { attribution: { feature: 'f' }, modelId: 'm1\u0000m2', inputTokens, outputTokens: 10, maxTokens });

  it('keeps feature × model groups apart (prompt percentiles)', () => {
    // Old: one group 'f\0m1' on 'm2' with both calls (2 calls, P99 700), none for 'f' on 'm1\0m2'.
    const report = analyze([crafted(1, 100, 300), victim(1, 100, 700)]);
    expect(report.inputPercentiles.map((p) => [p.feature, p.model, p.calls, p.p99])).toEqual([
      ['f', 'm1\u0000m2', 1, 700],
      ['f\u0000m1', 'm2', 1, 300],
    ]);
  });

  it('keeps feature × model groups apart (maxTokens advice)', () => {
    // Old: one row for 'f\0m1' on 'm2' with all 10 calls and a mixed maxTokens P50.
    const report = analyze([...Array.from({ length: 5 }, (_, i) => crafted(i, 4_000, 100)), ...Array.from({ length: 5 }, (_, i) => victim(i, 20, 100))]);
    expect(report.maxTokens.map((m) => [m.feature, m.model, m.calls, m.maxTokensP50])).toEqual([
      ['f\u0000m1', 'm2', 5, 4_000],
      ['f', 'm1\u0000m2', 5, 20],
    ]);
  });
});

describe('routing counters', () => {
  // Not reachable through today's callers (`to` and `reason` come from configuration, the error
  // name from a fixed set), but the counters take any strings and must not merge series.
  it('keeps fallbacks whose parts hold the old separator apart', () => {
    const c = new RoutingCounters();
    c.fallback('a\u0001b', 'c', 'quota');
    c.fallback('a', 'b\u0001c', 'quota');
    expect([...c.fallbacks.values()]).toEqual([
      { from: 'a\u0001b', to: 'c', reason: 'quota', count: 1 },
      { from: 'a', to: 'b\u0001c', reason: 'quota', count: 1 },
    ]);
  });

  it('keeps throttles whose parts hold the old separator apart', () => {
    const c = new RoutingCounters();
    c.throttle('m\u0001ThrottlingException', 'x');
    c.throttle('m', 'ThrottlingException\u0001x');
    expect([...c.throttles.values()]).toEqual([
      { model: 'm\u0001ThrottlingException', error: 'x', count: 1 },
      { model: 'm', error: 'ThrottlingException\u0001x', count: 1 },
    ]);
  });
});
