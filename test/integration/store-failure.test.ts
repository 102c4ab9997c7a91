import { describe, expect, it } from 'vitest';
import { isBudgetExceededError, isConfigurationError } from '../../src/index.js';
import type { BudgetStore, CommitRequest } from '../../src/budgets/index.js';
import { BudgetStoreUnavailableError } from '../../src/errors/budget-store-unavailable-error.js';
import { tokensOfText } from '../../src/testing/index.js';
import { simulated } from '../helpers/simulated-finops.js';

/** A store whose backend is down: every reserve fails; commits are recorded (a real store buffers them). */
function downStore(): BudgetStore & { commits: CommitRequest[] } {
  const commits: CommitRequest[] = [];
  return {
    commits,
    reserve: () => Promise.reject(new BudgetStoreUnavailableError('down')),
    commit: (request) => {
      commits.push(request);
      return { applied: true, before: [], after: [] };
    },
    read: () => Promise.reject(new BudgetStoreUnavailableError('down')),
  };
}

const PER_CALL = tokensOfText('hello world') + 3 + 10;

describe('when the budget store fails', () => {
  it("onStoreError 'allow' admits within the insurance allowance only, then refuses with reason store-unavailable; insured usage is still committed", async () => {
    const store = downStore();
    const { call } = simulated({ budgetStore: store, onStoreError: 'allow', insuranceFraction: 0.1, estimator: () => tokensOfText('hello world') + 3, budgets: [{ name: 'b', limit: { tokens: 100 * PER_CALL }, window: 'day' }] });
    const results = await Promise.allSettled(Array.from({ length: 30 }, () => call()));
    const admitted = results.filter((r) => r.status === 'fulfilled').length;
    const reasons = results.flatMap((r) => (r.status === 'rejected' && isBudgetExceededError(r.reason) ? [r.reason.reason] : []));
    // 10% of a 100-call limit: 10 calls insured; the other 20 refused, as unavailable (not as over the limit).
    expect(admitted).toBe(10);
    expect(reasons).toEqual(Array.from({ length: 20 }, () => 'store-unavailable'));
    expect(store.commits.map((c) => c.entries[0]?.actual.tokens)).toEqual(Array.from({ length: 10 }, () => PER_CALL));
  });

  it("onStoreError 'deny' refuses every call before sending, with reason store-unavailable", async () => {
    const { call } = simulated({ budgetStore: downStore(), onStoreError: 'deny', budgets: [{ name: 'b', limit: { tokens: 1_000_000 }, window: 'day' }] });
    const error = await call().catch((e: unknown) => e);
    expect(isBudgetExceededError(error) && error.reason).toBe('store-unavailable');
  });

  it('rejects an insuranceFraction outside [0, 1] with a ConfigurationError naming it', () => {
    for (const insuranceFraction of [-0.1, 1.5, Number.NaN]) {
      let caught: unknown;
      try {
        simulated({ insuranceFraction });
      } catch (e) {
        caught = e;
      }
      expect(isConfigurationError(caught) && (caught as Error).message).toContain('insuranceFraction');
    }
  });
});
