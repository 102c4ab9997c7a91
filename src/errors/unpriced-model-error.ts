import { brand, brandOf, FinOpsError } from './finops-error.js';

/**
 * Thrown before a request is sent when a call matches a cost budget but its model has no known
 * price (`unpricedModels: 'deny'`, the default): an unpriced model must not be a way around a cost
 * limit. Nothing was sent.
 */
export class UnpricedModelError extends FinOpsError {
  override name = 'UnpricedModelError';
  /** The model id as called. */
  readonly modelId: string;
  /** The id the model would be priced as (what `pricing.overrides` takes). */
  readonly pricedAs: string;
  /** The cost budget that needs a price. */
  readonly budget: string;

  constructor(modelId: string, pricedAs: string, budget: string) {
    super(
      `No price is known for model "${modelId.slice(0, 200)}" and budget "${budget}" limits cost. Add one with pricing: { overrides: { "${pricedAs.slice(0, 200)}": { input, output } } } (USD per million tokens), map the id to a known model with the models option, or set unpricedModels: 'warn' to admit such calls. Nothing was sent.`,
    );
    this.modelId = modelId;
    this.pricedAs = pricedAs;
    this.budget = budget;
    brand(this, 'UnpricedModelError');
  }
}

/** Whether `error` is an {@link UnpricedModelError} (works across realms and duplicate installs). */
export function isUnpricedModelError(error: unknown): error is UnpricedModelError {
  return brandOf(error) === 'UnpricedModelError';
}
