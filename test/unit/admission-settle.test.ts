/**
 * Admission settles a call's budget reservation and its quota holds each on its own: a budget
 * settlement that throws (a custom store's commit result that cannot be read, a bug) must not
 * keep the call's quota holds held until their lease runs out (15 min by default), and the
 * reverse.
 */
import { describe, expect, it } from 'vitest';
import type { Reservation } from '../../src/budgets/admission.js';
import type { Budgets } from '../../src/budgets/budgets.js';
import type { Settlement } from '../../src/call.js';
import { OnceReporter } from '../../src/diagnostics.js';
import { Admission, type Ticket } from '../../src/pipeline/admission.js';
import type { QuotaTicket } from '../../src/quotas/quota-admission.js';
import type { Quotas } from '../../src/quotas/quotas.js';

const settlement = {} as Settlement;
const ticket = { reservation: {} as Reservation, quota: {} as QuotaTicket } satisfies Ticket;

function gates(budgetThrows: boolean, quotaThrows: boolean) {
  const settled: string[] = [];
  const budgets = {
    settle: () => {
      if (budgetThrows) throw new Error('budget store broke');
      settled.push('budget');
    },
  } as unknown as Budgets;
  const quotas = {
    settle: () => {
      if (quotaThrows) throw new Error('quota store broke');
      settled.push('quota');
    },
  } as unknown as Quotas;
  return { admission: new Admission(budgets, new OnceReporter(), quotas), settled };
}

describe('Admission.settle: budget and quota settle independently', () => {
  it('a budget settlement that throws still releases the quota holds, and does not throw into the call', () => {
    const { admission, settled } = gates(true, false);
    expect(() => admission.settle(ticket, settlement)).not.toThrow();
    // Before: the throw left the quota unsettled (its holds kept for the lease).
    expect(settled).toEqual(['quota']);
  });

  it('a quota settlement that throws leaves the budget settled, and does not throw into the call', () => {
    const { admission, settled } = gates(false, true);
    expect(() => admission.settle(ticket, settlement)).not.toThrow();
    expect(settled).toEqual(['budget']);
  });

  it('both settle when neither throws', () => {
    const { admission, settled } = gates(false, false);
    admission.settle(ticket, settlement);
    expect(settled).toEqual(['budget', 'quota']);
  });
});
