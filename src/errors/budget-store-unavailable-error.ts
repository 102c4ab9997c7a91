import { brand, brandOf, FinOpsError } from './finops-error.js';

/**
 * A budget store could not answer (Redis unreachable, its breaker open, the store closed). Inside
 * the plugin it never reaches the caller as such: `onStoreError` decides whether the call goes on
 * or is refused. Thrown by store methods called directly.
 */
export class BudgetStoreUnavailableError extends FinOpsError {
  override name = 'BudgetStoreUnavailableError';

  constructor(message: string) {
    super(message);
    brand(this, 'BudgetStoreUnavailableError');
  }
}

/** Whether `error` is a {@link BudgetStoreUnavailableError} (works across realms and duplicate installs). */
export function isBudgetStoreUnavailableError(error: unknown): error is BudgetStoreUnavailableError {
  return brandOf(error) === 'BudgetStoreUnavailableError';
}
