import { describe, expect, it } from 'vitest';
import { MemoryBudgetStore, type CommitRequest } from '../../src/budgets/index.js';
import { IDS_KEPT } from '../../src/budgets/committed-ids.js';
import { describeStoreContract } from '../shared/store-contract.js';

describeStoreContract('memory', () => new MemoryBudgetStore());

describe('memory store: the ids it remembers', () => {
  const windowEnd = Date.now() + 3_600_000;
  const commit = (id: string, tokens = 1): CommitRequest => ({ id, entries: [{ key: 'ids', budget: 'ids', actual: { tokens, inputTokens: tokens, outputTokens: 0, nanoUsd: 0 }, windowEnd }], now: Date.now() });

  it(`recognises a repeated commit among the last ${IDS_KEPT} and forgets older ones (bounded memory, whatever the call rate)`, () => {
    const store = new MemoryBudgetStore();
    const now = Date.now();
    for (let i = 0; i <= IDS_KEPT; i++) {
      const id = `r${i}`;
      store.reserve({ id, entries: [{ key: 'ids', budget: 'ids', limits: { tokens: 1e12 }, amounts: { tokens: 5, inputTokens: 5, outputTokens: 0, nanoUsd: 0 }, enforce: true, windowEnd }], now, leaseMs: 60_000 });
      expect(store.commit(commit(id)).applied).toBe(true);
    }
    // Charged once each, nothing left reserved.
    expect(store.read([{ key: 'ids', budget: 'ids' }], now)[0]).toEqual({ used: { tokens: IDS_KEPT + 1, inputTokens: IDS_KEPT + 1, outputTokens: 0, nanoUsd: 0 }, reserved: { tokens: 0, inputTokens: 0, outputTokens: 0, nanoUsd: 0 } });
    // The newest is remembered: neither a repeated commit nor a repeated reserve changes anything.
    expect(store.commit(commit(`r${IDS_KEPT}`)).applied).toBe(false);
    const again = store.reserve({ id: `r${IDS_KEPT}`, entries: [{ key: 'ids', budget: 'ids', limits: { tokens: 1e12 }, amounts: { tokens: 5, inputTokens: 5, outputTokens: 0, nanoUsd: 0 }, enforce: true, windowEnd }], now, leaseMs: 60_000 });
    expect(again.admitted).toBe(true);
    expect(store.read([{ key: 'ids', budget: 'ids' }], now)[0]?.reserved.tokens).toBe(0);
    // The oldest was forgotten: committed again, it counts again (the documented bound).
    expect(store.commit(commit('r0')).applied).toBe(true);
    expect(store.commit(commit('r0')).applied).toBe(false);
    expect(store.read([{ key: 'ids', budget: 'ids' }], now)[0]?.used.tokens).toBe(IDS_KEPT + 2);
  });
});
