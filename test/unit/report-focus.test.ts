import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { storedHeader } from '../../src/ledger/header.js';
import { FOCUS_COLUMNS, FocusBuilder, writeFocusCsv, X_COLUMNS, type FocusRow } from '../../src/report/index.js';
import { nanoSum, usageRecord } from '../helpers/usage-records.js';

const T0 = Date.UTC(2026, 10, 20, 9);
const SONNET = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const ARN = 'arn:aws:bedrock:us-west-2:123456789012:provisioned-model/p1';

function build(records = sample(), options = {}) {
  const b = new FocusBuilder(options);
  b.header(storedHeader({ provisioned: { [ARN]: { model: 'anthropic.claude-3-haiku-20240307-v1:0', modelUnits: 2, hourlyCostUsd: 21.5 } } }));
  for (const r of records) b.record(r);
  return { b, rows: [...b.rows()] };
}

/** Two calls in one group (same hour, model, tier, attribution), one in another hour, one provisioned call. */
function sample() {
  return [
    usageRecord({ startedAt: T0 + 60_000, modelId: SONNET, modelKind: 'inference-profile', baseModelId: 'anthropic.claude-sonnet-4-5-20250929-v1:0', attribution: { team: 'search', feature: 'chat' }, inputTokens: 1_000, outputTokens: 200, cacheReadInputTokens: 3_000, costUsd: 0.0069 }),
    usageRecord({ startedAt: T0 + 120_000, modelId: SONNET, modelKind: 'inference-profile', baseModelId: 'anthropic.claude-sonnet-4-5-20250929-v1:0', attribution: { feature: 'chat', team: 'search' }, inputTokens: 500, outputTokens: 100, costUsd: 0.003, error: 'ThrottlingException', outcome: 'error' }),
    usageRecord({ startedAt: T0 + 3_600_000 + 5, modelId: SONNET, modelKind: 'inference-profile', attribution: { team: 'ads' }, inputTokens: 10, outputTokens: 10, costUsd: 0.00018, serviceTier: 'flex' }),
    usageRecord({ startedAt: T0 + 90_000, modelId: ARN, modelKind: 'provisioned-model', attribution: { team: 'support' }, inputTokens: 300, outputTokens: 30, costUsd: 0, onDemandEquivalentUsd: 0.000113 }),
  ];
}

describe('FOCUS export', () => {
  it('writes the 57 FOCUS 1.2 columns in the specification’s order, then the x_ columns', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    await writeFocusCsv(build().b.values(), out);
    const header = text.split('\r\n')[0]!.split(',');
    expect(FOCUS_COLUMNS).toHaveLength(57);
    expect(header).toEqual([...FOCUS_COLUMNS.map(([c]) => c), ...X_COLUMNS.map(([c]) => c)]);
    expect(header.slice(0, 57)).toEqual([...header.slice(0, 57)].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1)));
  });

  it('aggregates per hour × model × tier × attribution, BilledCost adding up exactly to the ledger’s cost', () => {
    const { b, rows } = build();
    const usage = rows.filter((r) => r.x_ChargeSource === 'usage');
    expect(usage).toHaveLength(3);
    const billed = (rs: FocusRow[]) => rs.reduce((s, r) => s + BigInt((r.BilledCost ?? '').replace('.', '')), 0n);
    expect(billed(usage)).toBe(BigInt(nanoSum(sample().map((r) => r.costUsd))));
    expect(b.usageNano).toBe(nanoSum(sample().map((r) => r.costUsd)));
  });

  it('fills a usage row column by column', () => {
    const row = build().rows.find((r) => r.x_ChargeSource === 'usage' && r.x_Calls === '2')!;
    expect(row).toMatchObject({
      AvailabilityZone: null,
      BilledCost: '0.009900000',
      BillingAccountId: '123456789012',
      BillingAccountName: null,
      BillingAccountType: 'Account',
      BillingCurrency: 'USD',
      BillingPeriodStart: '2026-11-01T00:00:00Z',
      BillingPeriodEnd: '2026-12-01T00:00:00Z',
      CapacityReservationId: null,
      CapacityReservationStatus: null,
      ChargeCategory: 'Usage',
      ChargeClass: null,
      ChargeDescription: `2 on-demand calls to ${SONNET}: 4800 tokens`,
      ChargeFrequency: 'Usage-Based',
      ChargePeriodStart: '2026-11-20T09:00:00Z',
      ChargePeriodEnd: '2026-11-20T10:00:00Z',
      CommitmentDiscountCategory: null,
      CommitmentDiscountId: null,
      CommitmentDiscountName: null,
      CommitmentDiscountQuantity: null,
      CommitmentDiscountStatus: null,
      CommitmentDiscountType: null,
      CommitmentDiscountUnit: null,
      ConsumedQuantity: '4800',
      ConsumedUnit: 'Tokens',
      ContractedCost: '0.009900000',
      ContractedUnitPrice: null,
      EffectiveCost: '0.009900000',
      InvoiceId: null,
      InvoiceIssuerName: 'Amazon Web Services',
      ListCost: '0.009900000',
      ListUnitPrice: null,
      PricingCategory: 'Standard',
      PricingCurrency: 'USD',
      PricingCurrencyContractedUnitPrice: null,
      PricingCurrencyEffectiveCost: '0.009900000',
      PricingCurrencyListUnitPrice: null,
      PricingQuantity: '0.004800',
      PricingUnit: '1M Tokens',
      ProviderName: 'Amazon Web Services',
      PublisherName: 'Anthropic',
      RegionId: null,
      RegionName: null,
      ResourceId: SONNET,
      ResourceName: SONNET,
      ResourceType: 'Inference Profile',
      ServiceCategory: 'AI and Machine Learning',
      ServiceName: 'Amazon Bedrock',
      ServiceSubcategory: 'Generative AI',
      SkuId: 'anthropic.claude-sonnet-4-5-20250929-v1:0:default',
      SkuMeter: 'Tokens',
      SkuPriceDetails: null,
      SkuPriceId: 'anthropic.claude-sonnet-4-5-20250929-v1:0:default',
      SubAccountId: '123456789012',
      SubAccountName: null,
      SubAccountType: 'Account',
      Tags: '{"feature":"chat","team":"search"}',
      x_Calls: '2',
      x_FailedCalls: '1',
      x_InputTokens: '1500',
      x_OutputTokens: '300',
      x_CacheReadInputTokens: '3000',
      x_CacheWriteInputTokens: '0',
      x_CacheWrite1hInputTokens: '0',
      x_ServiceTier: 'default',
      x_ModelKind: 'inference-profile',
      x_BaseModelId: 'anthropic.claude-sonnet-4-5-20250929-v1:0',
      x_OnDemandEquivalentCost: null,
      x_ChargeSource: 'usage',
    });
  });

  it('names the region, account and resource of a provisioned model from its ARN, and the region of others from --region', () => {
    const rows = build(sample(), { region: 'eu-west-1', accountId: '999' }).rows;
    const provisioned = rows.find((r) => r.ResourceId === ARN && r.x_ChargeSource === 'usage')!;
    expect(provisioned).toMatchObject({ RegionId: 'us-west-2', RegionName: 'US West (Oregon)', ResourceName: 'p1', ResourceType: 'Provisioned Throughput', BilledCost: '0.000000000', x_OnDemandEquivalentCost: '0.000113000', BillingAccountId: '999' });
    expect(rows.find((r) => r.x_ServiceTier === 'flex')).toMatchObject({ RegionId: 'eu-west-1', RegionName: 'Europe (Ireland)', Tags: '{"team":"ads"}', ChargePeriodStart: '2026-11-20T10:00:00Z' });
  });

  it('adds one row per hour of each provisioned commitment with an hourly cost, over the whole period', () => {
    const { b, rows } = build(sample(), { since: T0, until: T0 + 3 * 3_600_000 });
    const commitment = rows.filter((r) => r.x_ChargeSource === 'provisioned-commitment');
    expect(commitment.map((r) => r.ChargePeriodStart)).toEqual(['2026-11-20T09:00:00Z', '2026-11-20T10:00:00Z', '2026-11-20T11:00:00Z']);
    expect(commitment[0]).toMatchObject({ BilledCost: '21.500000000', ChargeCategory: 'Usage', ChargeFrequency: 'Recurring', ConsumedQuantity: '2', ConsumedUnit: 'Model Unit-Hours', PricingUnit: 'Model Unit-Hours', ResourceId: ARN, RegionId: 'us-west-2', SkuId: 'anthropic.claude-3-haiku-20240307-v1:0:provisioned', PublisherName: 'Amazon Web Services' });
    expect(b.commitmentNano).toBe(3 * 21_500_000_000);
  });

  it('never leaves a column the specification requires empty', () => {
    const required = ['BilledCost', 'BillingAccountId', 'BillingCurrency', 'BillingPeriodEnd', 'BillingPeriodStart', 'ChargeCategory', 'ChargeDescription', 'ChargePeriodEnd', 'ChargePeriodStart', 'ContractedCost', 'EffectiveCost', 'InvoiceIssuerName', 'ListCost', 'PricingCategory', 'PricingQuantity', 'PricingUnit', 'ProviderName', 'PublisherName', 'ServiceCategory', 'ServiceName', 'ConsumedQuantity', 'ConsumedUnit', 'SkuId', 'SkuPriceId'] as const;
    for (const row of build().rows) {
      for (const c of required) expect(row[c], c).not.toBeNull();
      for (const c of ['BillingPeriodStart', 'BillingPeriodEnd', 'ChargePeriodStart', 'ChargePeriodEnd'] as const) expect(row[c]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:00:00Z$/);
    }
  });
});
