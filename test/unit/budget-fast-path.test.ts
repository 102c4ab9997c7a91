import { describe, expect, it, vi } from 'vitest';
import { BudgetAdmission, type Reservation } from '../../src/budgets/admission.js';
import { compileRules, type BudgetRule } from '../../src/budgets/budget-rule.js';
import type { BudgetContext } from '../../src/budgets/context.js';
import { BudgetEvents, type BudgetEvent } from '../../src/budgets/events.js';
import { InsuranceAllowance } from '../../src/budgets/insurance.js';
import { BudgetCounters, KnownCounters } from '../../src/budgets/known-counters.js';
import { directStore, MemoryBudgetStore, RESERVE_FITTING } from '../../src/budgets/memory-store.js';
import { compilePolicies } from '../../src/budgets/policy.js';
import { BudgetSettlement } from '../../src/budgets/settlement.js';
import type { BudgetStore } from '../../src/budgets/store.js';
import { BudgetViews } from '../../src/budgets/views.js';
import type { Settlement } from '../../src/call.js';
import { OnceReporter } from '../../src/diagnostics.js';
import { isBudgetExceededError } from '../../src/index.js';
import type { UsageRecord } from '../../src/record.js';
import { fakeCall, testPricer } from '../helpers/calls.js';

// The common case: the built-in store, the synchronous heuristic, rules far from their limits.
// Admission and settlement take the store's direct path there; everything else takes the general one.
function budgets(rules: BudgetRule[], store: BudgetStore = new MemoryBudgetStore(), options: { leaseMs?: number } = {}) {
  const events: BudgetEvent[] = [];
  const counters = new BudgetCounters();
  const c: BudgetContext = {
    rules: compileRules(rules),
    policies: compilePolicies(undefined),
    store,
    estimator: undefined,
    defaultMaxOutputTokens: 4096,
    estimatorTimeoutMs: 2_000,
    leaseMs: options.leaseMs ?? 60_000,
    onStoreError: 'deny',
    unpricedModels: 'warn',
    events: new BudgetEvents((e) => events.push(e), new OnceReporter()),
    counters,
    known: new KnownCounters(100, directStore(store)),
    pricer: testPricer(),
    reporter: new OnceReporter(),
    costModelFor: (call) => call.model,
  };
  return { c, store, events, counters, admission: new BudgetAdmission(c, new InsuranceAllowance(1)), settlement: new BudgetSettlement(c), views: new BudgetViews(c) };
}

const input = (maxTokens = 50) => ({ messages: [{ role: 'user', content: [{ text: 'hello there' }] }], inferenceConfig: { maxTokens } });

function settled(usage: Partial<UsageRecord>): Settlement {
  const record = { requestedModelId: 'm', attribution: {}, inputTokens: 0, outputTokens: 0, cacheReadInputTokens: 0, cacheWriteInputTokens: 0, costUsd: 0, ...usage } as UsageRecord;
  return { record, genAiOperation: 'chat', serverAddress: undefined, serverPort: 443 };
}

const ZERO = { tokens: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };

describe('the built-in store on the direct path', () => {
  // Fails before the change: admission and settlement always built requests for reserve() and commit().
  it('reserves and commits a call that fits without reserve() or commit() requests', async () => {
    const { admission, settlement, store } = budgets([{ name: 'daily', limit: { tokens: 1e9, costUsd: 1e3 }, window: 'day' }]);
    // Spied on the class (a method replaced on the instance sends every call through it: see the adversarial tests).
    const reserve = vi.spyOn(MemoryBudgetStore.prototype, 'reserve');
    const commit = vi.spyOn(MemoryBudgetStore.prototype, 'commit');
    try {
      const r = admission.admit(fakeCall(), input()) as Reservation;
      settlement.settle(r, settled({ inputTokens: 5, outputTokens: 3, costUsd: 0.000001 }));
      expect(reserve).not.toHaveBeenCalled();
      expect(commit).not.toHaveBeenCalled();
      expect(r.reserved).toBe(true);
      const [state] = (await store.read([{ key: r.keys[0]!.id, budget: 'daily' }], Date.now()));
      expect(state?.used.tokens).toBe(8);
    } finally {
      reserve.mockRestore();
      commit.mockRestore();
    }
  });

  it('counts exactly what the general path counts: usage added, every reservation released to exactly 0', async () => {
    const rules: BudgetRule[] = [
      { name: 'daily', limit: { tokens: 1e9, costUsd: 1e3 }, window: 'day' },
      { name: 'tenant', per: 'tenant', limit: { tokens: 1e9 }, window: 'hour' },
    ];
    const direct = budgets(rules);
    // A subclass is not the built-in store: it takes the general path (its methods may differ).
    const general = budgets(rules, new (class extends MemoryBudgetStore {})());
    expect(directStore(general.store)).toBeUndefined();
    for (const b of [direct, general]) {
      const held = [1, 2, 3].map((i) => b.admission.admit(fakeCall(undefined, { tenant: `t${i % 2}` }), input(10 * i)) as Reservation);
      const mid = await b.views.status();
      expect(mid.some((s) => s.reserved.tokens > 0)).toBe(true);
      held.forEach((r, i) => b.settlement.settle(r, settled({ inputTokens: 7 * i, outputTokens: i, cacheReadInputTokens: 2, costUsd: 0.0000031 * i })));
    }
    const [a, b] = [await direct.views.status(), await general.views.status()];
    expect(a).toEqual(b);
    for (const s of a) expect(s.reserved).toEqual(ZERO);
    expect(a.find((s) => s.budget === 'daily')?.used).toMatchObject({ tokens: 6 + 21 + 3, costUsd: 0.0000093 });
  });

  it('commits once: a second settle of the same reservation changes nothing', async () => {
    const { admission, settlement, views } = budgets([{ name: 'daily', limit: { tokens: 1e9 }, window: 'day' }]);
    const r = admission.admit(fakeCall(), input()) as Reservation;
    settlement.settle(r, settled({ inputTokens: 10 }));
    settlement.settle(r, settled({ inputTokens: 10 }));
    expect((await views.status())[0]).toMatchObject({ used: { tokens: 10 }, reserved: ZERO });
  });

  it('counts a call whose lease expired (released by the sweep) once, through the general commit', async () => {
    const { admission, settlement, store, views } = budgets([{ name: 'daily', limit: { tokens: 1e9 }, window: 'day' }], new MemoryBudgetStore(), { leaseMs: 1 });
    const r = admission.admit(fakeCall(), input()) as Reservation;
    // A later call's sweep expires the first lease.
    void store.read([], Date.now() + 5_000);
    const commit = vi.spyOn(store, 'commit');
    settlement.settle(r, settled({ inputTokens: 9 }));
    expect(commit).toHaveBeenCalledTimes(1);
    expect((await views.status())[0]).toMatchObject({ used: { tokens: 9 }, reserved: ZERO });
  });

  it('refuses a call that does not fit exactly as before, reserving nothing on any counter', async () => {
    const { admission, views, counters } = budgets([
      { name: 'big', limit: { tokens: 1e9 }, window: 'day' },
      { name: 'small', limit: { tokens: 20 }, window: 'day' },
    ]);
    let caught: unknown;
    try {
      void admission.admit(fakeCall(), input(50));
    } catch (error) {
      caught = error;
    }
    expect(isBudgetExceededError(caught) && caught.budget).toBe('small');
    expect(counters.rejections.size).toBe(1);
    for (const s of await views.status()) expect(s.reserved).toEqual(ZERO);
  });

  it('still reports a warn rule passed by a call, and admits it', () => {
    const { admission, events } = budgets([{ name: 'soft', action: 'warn', limit: { tokens: 10 }, window: 'day' }]);
    expect(admission.admit(fakeCall(), input(50))).toMatchObject({ reserved: true });
    expect(events.map((e) => e.type)).toEqual(['exceeded']);
  });

  it('still fires alertAt thresholds a commit crosses', () => {
    const { admission, settlement, events } = budgets([{ name: 'a', limit: { tokens: 1000 }, window: 'day', alertAt: [0.5] }]);
    for (const used of [400, 200]) settlement.settle(admission.admit(fakeCall(), input(1)) as Reservation, settled({ inputTokens: used }));
    expect(events.filter((e) => e.type === 'threshold').map((e) => e.used)).toEqual([600]);
  });

  it('checks two counters of one request together when two matching keys share a counter', () => {
    const store = new MemoryBudgetStore();
    const key = { id: 'k', end: Number.POSITIVE_INFINITY, rule: { unitLimits: { tokens: 10 } } };
    const amounts = { tokens: 6, inputTokens: 6, outputTokens: 0, nanoUsd: 0 };
    // Each alone fits; both on the one counter do not: the direct path leaves it to reserve().
    expect(store[RESERVE_FITTING]('a', [key, key], amounts, 0, 1_000)).toBeUndefined();
    expect(store.read([{ key: 'k', budget: 'b' }], 0)[0]?.reserved.tokens).toBe(0);
    expect(store[RESERVE_FITTING]('a', [key], amounts, 0, 1_000)).toBeDefined();
  });
});

describe('known counters read the built-in store live', () => {
  it('show what the store holds, with nothing copied per call', () => {
    const { admission, settlement, views } = budgets([{ name: 'daily', limit: { tokens: 1e9 }, window: 'day' }]);
    const r = admission.admit(fakeCall(), input(40)) as Reservation;
    expect(views.knownStatuses()[0]?.reserved.tokens).toBe(r.estimate.tokens);
    settlement.settle(r, settled({ inputTokens: 12, outputTokens: 3 }));
    expect(views.knownStatuses()[0]).toMatchObject({ used: { tokens: 15 }, reserved: ZERO });
  });

  // Fails before the change: the known state was the one this instance last saw, missing what another plugin on the same store committed since.
  it('include usage another plugin committed to a shared built-in store', () => {
    const store = new MemoryBudgetStore();
    const rules: BudgetRule[] = [{ name: 'shared', limit: { tokens: 1e9 }, window: 'day' }];
    const [one, two] = [budgets(rules, store), budgets(rules, store)];
    one.settlement.settle(one.admission.admit(fakeCall(), input(1)) as Reservation, settled({ inputTokens: 5 }));
    two.settlement.settle(two.admission.admit(fakeCall(), input(1)) as Reservation, settled({ inputTokens: 7 }));
    expect(one.views.knownStatuses()[0]?.used.tokens).toBe(12);
  });
});
