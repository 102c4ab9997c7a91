import { describe, expect, it } from 'vitest';
import { BudgetAdmission, type Reservation } from '../../src/budgets/admission.js';
import { compileRules, type BudgetRule } from '../../src/budgets/budget-rule.js';
import type { BudgetContext } from '../../src/budgets/context.js';
import { BudgetEvents, type BudgetEvent } from '../../src/budgets/events.js';
import { InsuranceAllowance } from '../../src/budgets/insurance.js';
import { BudgetCounters, KnownCounters } from '../../src/budgets/known-counters.js';
import { compilePolicies, type ModelPolicy } from '../../src/budgets/policy.js';
import { BudgetSettlement } from '../../src/budgets/settlement.js';
import type { Settlement } from '../../src/call.js';
import { OnceReporter } from '../../src/diagnostics.js';
import { isBudgetExceededError, isModelNotAllowedError } from '../../src/index.js';
import type { UsageRecord } from '../../src/record.js';
import { fakeCall, testPricer } from '../helpers/calls.js';
import { FakeStore } from '../helpers/fake-store.js';

const NOVA_LITE = { input: 0.06, output: 0.24 }; // us.amazon.nova-lite-v1:0, USD per million tokens

function context(rules: BudgetRule[], options: { policies?: ModelPolicy[]; onStoreError?: 'allow' | 'deny'; estimator?: BudgetContext['estimator']; insurance?: number } = {}) {
  const store = new FakeStore();
  const events: BudgetEvent[] = [];
  const c: BudgetContext = {
    rules: compileRules(rules),
    policies: compilePolicies(options.policies),
    store,
    estimator: options.estimator ?? (() => 100),
    defaultMaxOutputTokens: 4096,
    estimatorTimeoutMs: 2_000,
    leaseMs: 60_000,
    onStoreError: options.onStoreError ?? 'allow',
    unpricedModels: 'deny',
    events: new BudgetEvents((e) => events.push(e), new OnceReporter()),
    counters: new BudgetCounters(),
    known: new KnownCounters(100),
    pricer: testPricer(),
    reporter: new OnceReporter(),
    costModelFor: (call) => call.model,
  };
  return { c, store, events, admission: new BudgetAdmission(c, new InsuranceAllowance(options.insurance ?? 1)), settlement: new BudgetSettlement(c) };
}

const input = (maxTokens = 50) => ({ messages: [{ role: 'user', content: [{ text: 'hi' }] }], inferenceConfig: { maxTokens } });

function settled(usage: Partial<UsageRecord>): Settlement {
  const record = { requestedModelId: 'm', attribution: {}, inputTokens: 0, outputTokens: 0, cacheReadInputTokens: 0, cacheWriteInputTokens: 0, costUsd: 0, ...usage } as UsageRecord;
  return { record, genAiOperation: 'chat', serverAddress: undefined, serverPort: 443 };
}

describe('budget admission (fake store)', () => {
  it('asks the store nothing when no rule matches the call', () => {
    const { admission, store } = context([{ name: 'search', match: { team: 'search' }, limit: { tokens: 10 }, window: 'day' }]);
    expect(admission.admit(fakeCall(undefined, { team: 'ads' }), input())).toBeUndefined();
    expect(store.reserves).toHaveLength(0);
  });

  it('reserves the input estimate plus the output cap, priced at the model, against every matching counter at once', () => {
    const { admission, store } = context([
      { name: 'a', limit: { tokens: 1_000 }, window: 'day' },
      { name: 'b', per: 'tenant', limit: { costUsd: 1 }, window: 'hour' },
    ]);
    const r = admission.admit(fakeCall(undefined, { tenant: 't1' }), input(50)) as Reservation;
    const nano = Math.round((100 * NOVA_LITE.input + 50 * NOVA_LITE.output) * 1000);
    expect(r.estimate).toEqual({ tokens: 150, inputTokens: 100, outputTokens: 50, nanoUsd: nano });
    expect(store.reserves).toHaveLength(1);
    expect(store.reserves[0]!.entries.map((e) => [e.budget, e.limits])).toEqual([
      ['a', { tokens: 1_000 }],
      ['b', { nanoUsd: 1_000_000_000 }],
    ]);
    // A per-process random UUID and a counter.
    expect(r.id).toMatch(/^[\w-]{22}:[0-9a-z]+$/);
  });

  it('skips a per rule for a call without that attribution key (own properties only: never "constructor")', () => {
    const { admission, store } = context([{ name: 'p', per: 'constructor', limit: { tokens: 10 }, window: 'day' }]);
    expect(admission.admit(fakeCall(undefined, {}), input())).toBeUndefined();
    expect(store.reserves).toHaveLength(0);
  });

  it('throws a BudgetExceededError in public units (dollars) and emits a rejection when the store says no', () => {
    const { admission, c, events } = context([{ name: 'usd', limit: { costUsd: 0.00001 }, window: 'day' }]);
    let caught: unknown;
    try {
      void admission.admit(fakeCall(), input(50));
    } catch (e) {
      caught = e;
    }
    expect(isBudgetExceededError(caught)).toBe(true);
    expect(caught).toMatchObject({ budget: 'usd', limitType: 'costUsd', limit: 0.00001, used: 0, reserved: 0, reason: 'limit' });
    expect((caught as { requested: number }).requested).toBeCloseTo((100 * NOVA_LITE.input + 50 * NOVA_LITE.output) / 1e6, 12);
    expect(events.map((e) => e.type)).toEqual(['rejected']);
    expect([...c.counters.rejections.values()]).toEqual([{ budget: 'usd', limitType: 'costUsd', count: 1 }]);
  });

  it('throws a ModelNotAllowedError for a forbidden model before any estimate', () => {
    const { admission, store, c } = context([{ name: 'a', limit: { tokens: 1e6 }, window: 'day' }], { policies: [{ name: 'cheap', denyModels: ['*nova-lite*'] }] });
    expect(() => admission.admit(fakeCall(), input())).toThrow(expect.objectContaining({ policy: 'cheap' }) as Error);
    let caught: unknown;
    try {
      void admission.admit(fakeCall(), input());
    } catch (e) {
      caught = e;
    }
    expect(isModelNotAllowedError(caught)).toBe(true);
    expect(store.reserves).toHaveLength(0);
    expect(c.counters.policyRejections.get('cheap')).toBe(2);
  });

  it.each([
    ['throws', 'throw'],
    ['rejects', 'reject'],
  ] as const)("lets the call go unreserved when the store %s and onStoreError is 'allow'", async (_, mode) => {
    const { admission, store, events } = context([{ name: 'a', limit: { tokens: 1e6 }, window: 'day' }]);
    store.reserveMode = mode;
    const r = await admission.admit(fakeCall(), input());
    expect(r).toMatchObject({ reserved: false });
    expect(events.map((e) => e.type)).toEqual(['store-error']);
  });

  it("refuses with reason 'store-unavailable' when the store fails and onStoreError is 'deny'", async () => {
    const { admission, store } = context([{ name: 'a', limit: { tokens: 1e6 }, window: 'day' }], { onStoreError: 'deny' });
    store.reserveMode = 'reject';
    const error = await Promise.resolve(admission.admit(fakeCall(), input())).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'BudgetExceededError', reason: 'store-unavailable' });
  });

  it('answers synchronously with a synchronous store and estimator, and with a promise otherwise', async () => {
    const sync = context([{ name: 'a', limit: { tokens: 1e6 }, window: 'day' }]);
    expect(sync.admission.admit(fakeCall(), input())).not.toBeInstanceOf(Promise);
    const asyncStore = context([{ name: 'a', limit: { tokens: 1e6 }, window: 'day' }]);
    asyncStore.store.reserveMode = 'async';
    const pending = asyncStore.admission.admit(fakeCall(), input());
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toMatchObject({ reserved: true });
  });

  it('falls back to the heuristic when the estimator throws or returns nonsense', () => {
    for (const estimator of [() => { throw new Error('boom'); }, () => Number.NaN, () => -5]) {
      const { admission } = context([{ name: 'a', limit: { tokens: 1e6 }, window: 'day' }], { estimator });
      const r = admission.admit(fakeCall(), input(10)) as Reservation;
      expect(r.estimate.inputTokens).toBe(Math.ceil(2 / 3.5) + 4);
    }
  });
});

describe('budget settlement (fake store)', () => {
  it('commits the actual usage (cache counted as input) and releases the reservation: reserved back to exactly 0', () => {
    const { admission, settlement, store } = context([{ name: 'a', limit: { tokens: 1e6, costUsd: 10 }, window: 'day' }]);
    const r = admission.admit(fakeCall(), input()) as Reservation;
    settlement.settle(r, settled({ inputTokens: 5, cacheReadInputTokens: 7, cacheWriteInputTokens: 11, outputTokens: 3, costUsd: 0.0000123 }));
    expect(store.commits[0]!.entries[0]!.actual).toEqual({ tokens: 26, inputTokens: 23, outputTokens: 3, nanoUsd: 12_300 });
    expect(store.inner.read([{ key: r.entries[0]!.key, budget: 'a' }], Date.now())).toEqual([
      { used: { tokens: 26, inputTokens: 23, outputTokens: 3, nanoUsd: 12_300 }, reserved: { tokens: 0, inputTokens: 0, outputTokens: 0, nanoUsd: 0 } },
    ]);
  });

  it('fires each alertAt threshold once, when a commit crosses it', () => {
    const { admission, settlement, events } = context([{ name: 'a', limit: { tokens: 100 }, window: 'day', alertAt: [0.5, 0.8] }], { estimator: () => 1 });
    for (const used of [40, 20, 30]) settlement.settle(admission.admit(fakeCall(), input(1)) as Reservation, settled({ inputTokens: used }));
    expect(events.filter((e) => e.type === 'threshold').map((e) => [e.threshold, e.used])).toEqual([
      [0.5, 60],
      [0.8, 90],
    ]);
  });

  it('never throws when the store fails to commit; it counts the error', async () => {
    const { admission, settlement, store, c } = context([{ name: 'a', limit: { tokens: 1e6 }, window: 'day' }]);
    const r = admission.admit(fakeCall(), input()) as Reservation;
    store.commitMode = 'throw';
    expect(() => settlement.settle(r, settled({ inputTokens: 1 }))).not.toThrow();
    store.commitMode = 'reject';
    settlement.settle(r, settled({ inputTokens: 1 }));
    await settlement.drain();
    expect(c.counters.storeErrors).toBe(2);
  });

  it('drain() waits for commits still in flight on an asynchronous store', async () => {
    const { admission, settlement, store } = context([{ name: 'a', limit: { tokens: 1e6 }, window: 'day' }]);
    store.commitMode = 'async';
    const r = admission.admit(fakeCall(), input()) as Reservation;
    settlement.settle(r, settled({ inputTokens: 9 }));
    await settlement.drain();
    expect(store.inner.read([{ key: r.entries[0]!.key, budget: 'a' }], Date.now())[0]!.used.tokens).toBe(9);
  });
});
