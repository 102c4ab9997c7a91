import { describe, expect, it } from 'vitest';
import { nanoDecimal } from '../../src/report/money.js';
import { FocusBuilder } from '../../src/report/focus/focus-builder.js';
import { analyze, renderHtml, renderText } from '../../src/report/index.js';
import { usageRecord } from '../helpers/usage-records.js';

const ARN = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/p1';
const T0 = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;

// One commitment at $1,000,000.065 an hour over 4,321 hours: $4,321,000,280.865 exactly, which
// prints $4,321,000,280.87. As a double product it is 4321000280.8649998..., which printed (and
// summed into the totals) as $4,321,000,280.86, a cent below the FOCUS export's BilledCost
// (4321000280.865000000, summed in BigInt nano-USD).
const served = (i: number) => usageRecord({ startedAt: T0 + i * HOUR, modelId: ARN, requestedModelId: ARN, modelKind: 'provisioned-model', inputTokens: 1000, outputTokens: 100, costUsd: 0, onDemandEquivalentUsd: 3_000_000.123456789 });
const options = { since: T0, until: T0 + 4321 * HOUR, now: T0 + 5000 * HOUR, provisioned: { [ARN]: { modelUnits: 1, hourlyCostUsd: 1_000_000.065 } } };
const report = () => analyze([served(0), served(1), served(2)], options);

describe('per-model provisioned money is exact, as the totals are', () => {
  it('the commitment: 4,321 h × $1,000,000.065 = $4,321,000,280.865 in the model row, the totals and every format', () => {
    const r = report();
    const p = r.provisioned[0];
    expect(p?.hours).toBe(4321);
    // Before: the totals' commitment 4321000280.864999936 (from the double product), printed $4,321,000,280.86 while the model's row said .87; no decimal on the row.
    expect(r.totals.commitmentCostUsdDecimal).toBe('4321000280.865000000');
    expect(p?.commitmentCostUsdDecimal).toBe('4321000280.865000000');
    expect(r.totals.totalCostUsdDecimal).toBe('4321000280.865000000');
    const text = renderText(r);
    expect(text).toContain('+ $4,321,000,280.87 provisioned commitments = $4,321,000,280.87');
    // The model's row: on-demand equivalent 3 × $3,000,000.123456789 = $9,000,000.370370367, and the commitment.
    expect(text).toMatch(/\$9,000,000\.37 +\$4,321,000,280\.87\n/);
    expect(renderHtml(r)).toContain('$4,321,000,280.87 (4,321 h × $1,000,000.065)');
    // The FOCUS export of the same ledger bills the same commitment (4,321 hourly rows).
    const focus = new FocusBuilder(options);
    for (let i = 0; i < 3; i++) focus.record(served(i));
    expect([...focus.rows()].filter((row) => row.x_ChargeSource === 'provisioned-commitment')).toHaveLength(4321);
    expect(nanoDecimal(focus.commitmentNanoExact)).toBe(r.totals.commitmentCostUsdDecimal);
  });

  it('the on-demand equivalent: 3 calls of $3,000,000.123456789 = $9,000,000.370370367 exactly on the model row', () => {
    const p = report().provisioned[0];
    // Before: only the double (9000000.370370368).
    expect(p?.onDemandEquivalentUsdDecimal).toBe('9000000.370370367');
  });
});
