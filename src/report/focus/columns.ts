/**
 * The FOCUS columns the export writes: every column of the FinOps Open Cost and Usage
 * Specification (FOCUS) version 1.2 (ratified 2025-05-29; https://focus.finops.org/focus-specification/v1-2/,
 * column definitions in github.com/FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec, `specification/columns/`),
 * in the specification's alphabetical order, nulls where a column does not apply, then `x_`
 * columns (the specification's prefix for provider-defined columns) for what FOCUS has no column for.
 */

export type FocusType = 'string' | 'decimal' | 'datetime' | 'json';

/** The 57 FOCUS 1.2 columns. Mandatory ones are never null in this export. */
export const FOCUS_COLUMNS = [
  ['AvailabilityZone', 'string'],
  ['BilledCost', 'decimal'],
  ['BillingAccountId', 'string'],
  ['BillingAccountName', 'string'],
  ['BillingAccountType', 'string'],
  ['BillingCurrency', 'string'],
  ['BillingPeriodEnd', 'datetime'],
  ['BillingPeriodStart', 'datetime'],
  ['CapacityReservationId', 'string'],
  ['CapacityReservationStatus', 'string'],
  ['ChargeCategory', 'string'],
  ['ChargeClass', 'string'],
  ['ChargeDescription', 'string'],
  ['ChargeFrequency', 'string'],
  ['ChargePeriodEnd', 'datetime'],
  ['ChargePeriodStart', 'datetime'],
  ['CommitmentDiscountCategory', 'string'],
  ['CommitmentDiscountId', 'string'],
  ['CommitmentDiscountName', 'string'],
  ['CommitmentDiscountQuantity', 'decimal'],
  ['CommitmentDiscountStatus', 'string'],
  ['CommitmentDiscountType', 'string'],
  ['CommitmentDiscountUnit', 'string'],
  ['ConsumedQuantity', 'decimal'],
  ['ConsumedUnit', 'string'],
  ['ContractedCost', 'decimal'],
  ['ContractedUnitPrice', 'decimal'],
  ['EffectiveCost', 'decimal'],
  ['InvoiceId', 'string'],
  ['InvoiceIssuerName', 'string'],
  ['ListCost', 'decimal'],
  ['ListUnitPrice', 'decimal'],
  ['PricingCategory', 'string'],
  ['PricingCurrency', 'string'],
  ['PricingCurrencyContractedUnitPrice', 'decimal'],
  ['PricingCurrencyEffectiveCost', 'decimal'],
  ['PricingCurrencyListUnitPrice', 'decimal'],
  ['PricingQuantity', 'decimal'],
  ['PricingUnit', 'string'],
  ['ProviderName', 'string'],
  ['PublisherName', 'string'],
  ['RegionId', 'string'],
  ['RegionName', 'string'],
  ['ResourceId', 'string'],
  ['ResourceName', 'string'],
  ['ResourceType', 'string'],
  ['ServiceCategory', 'string'],
  ['ServiceName', 'string'],
  ['ServiceSubcategory', 'string'],
  ['SkuId', 'string'],
  ['SkuMeter', 'string'],
  ['SkuPriceDetails', 'json'],
  ['SkuPriceId', 'string'],
  ['SubAccountId', 'string'],
  ['SubAccountName', 'string'],
  ['SubAccountType', 'string'],
  ['Tags', 'json'],
] as const satisfies readonly (readonly [string, FocusType])[];

/** Provider-defined columns: what a Bedrock call has that FOCUS does not. */
export const X_COLUMNS = [
  ['x_Calls', 'decimal'],
  ['x_FailedCalls', 'decimal'],
  ['x_InputTokens', 'decimal'],
  ['x_OutputTokens', 'decimal'],
  ['x_CacheReadInputTokens', 'decimal'],
  ['x_CacheWriteInputTokens', 'decimal'],
  ['x_CacheWrite1hInputTokens', 'decimal'],
  ['x_ServiceTier', 'string'],
  ['x_ModelKind', 'string'],
  ['x_BaseModelId', 'string'],
  ['x_OnDemandEquivalentCost', 'decimal'],
  ['x_ChargeSource', 'string'],
] as const satisfies readonly (readonly [string, FocusType])[];

export type FocusColumn = (typeof FOCUS_COLUMNS)[number][0] | (typeof X_COLUMNS)[number][0];

/** One export row: decimals as exact decimal strings, datetimes as `YYYY-MM-DDTHH:mm:ssZ`, null where not applicable. */
export type FocusRow = Readonly<Record<FocusColumn, string | null>>;

export const ALL_COLUMNS: readonly (readonly [FocusColumn, FocusType])[] = [...FOCUS_COLUMNS, ...X_COLUMNS];

/** Model providers (the id's prefix) as FOCUS publishers; anything else is published by AWS. */
export const PUBLISHERS: Readonly<Record<string, string>> = {
  amazon: 'Amazon Web Services',
  anthropic: 'Anthropic',
  meta: 'Meta',
  mistral: 'Mistral AI',
  cohere: 'Cohere',
  ai21: 'AI21 Labs',
  deepseek: 'DeepSeek',
  openai: 'OpenAI',
  qwen: 'Qwen',
  writer: 'Writer',
  stability: 'Stability AI',
  twelvelabs: 'TwelveLabs',
  luma: 'Luma AI',
};

/** Region names for RegionName (FOCUS requires one beside a RegionId); unknown regions repeat the id. */
export const REGION_NAMES: Readonly<Record<string, string>> = {
  'us-east-1': 'US East (N. Virginia)',
  'us-east-2': 'US East (Ohio)',
  'us-west-1': 'US West (N. California)',
  'us-west-2': 'US West (Oregon)',
  'ca-central-1': 'Canada (Central)',
  'eu-central-1': 'Europe (Frankfurt)',
  'eu-central-2': 'Europe (Zurich)',
  'eu-west-1': 'Europe (Ireland)',
  'eu-west-2': 'Europe (London)',
  'eu-west-3': 'Europe (Paris)',
  'eu-north-1': 'Europe (Stockholm)',
  'eu-south-1': 'Europe (Milan)',
  'eu-south-2': 'Europe (Spain)',
  'ap-northeast-1': 'Asia Pacific (Tokyo)',
  'ap-northeast-2': 'Asia Pacific (Seoul)',
  'ap-northeast-3': 'Asia Pacific (Osaka)',
  'ap-south-1': 'Asia Pacific (Mumbai)',
  'ap-south-2': 'Asia Pacific (Hyderabad)',
  'ap-southeast-1': 'Asia Pacific (Singapore)',
  'ap-southeast-2': 'Asia Pacific (Sydney)',
  'sa-east-1': 'South America (São Paulo)',
  'us-gov-west-1': 'AWS GovCloud (US-West)',
  'us-gov-east-1': 'AWS GovCloud (US-East)',
};
