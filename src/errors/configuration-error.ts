import { brand, brandOf, FinOpsError } from './finops-error.js';

/** Thrown at construction (or when attribution is given) for invalid configuration; names the field. */
export class ConfigurationError extends FinOpsError {
  override name = 'ConfigurationError';
  /** The option path at fault, e.g. `budgets[0].limit`. */
  readonly field: string;

  constructor(field: string, problem: string) {
    super(`bedrock-finops: invalid ${field}: ${problem}`);
    this.field = field;
    brand(this, 'ConfigurationError');
  }
}

/** Whether `error` is a {@link ConfigurationError} (works across realms and duplicate installs). */
export function isConfigurationError(error: unknown): error is ConfigurationError {
  return brandOf(error) === 'ConfigurationError';
}
