import { describe, expect, it } from 'vitest';
import { MemoryBudgetStore, type CommitRequest, type ReserveRequest } from '../../src/budgets/index.js';
import { IDS_KEPT } from '../../src/budgets/committed-ids.js';
import { describeStoreContract } from '../shared/store-contract.js';

describeStoreContract('memory', () => new MemoryBudgetStore());

describe('memory store: the ids it remembers', () => {
  const windowEnd = Date.now() + 3_600_000;
  const tokens = (n: number) => ({ tokens: n, inputTokens: n, outputTokens: 0, nanoUsd: 0 });
  const reserve = (id: string, now: number): ReserveRequest => ({ id, entries: [{ key: 'ids', budget: 'ids', limits: { tokens: 1e12 }, amounts: tokens(5), enforce: true, windowEnd }], now, leaseMs: 60_000 });
  const commit = (id: string): CommitRequest => ({ id, entries: [{ key: 'ids', budget: 'ids', actual: tokens(1), windowEnd }], now: Date.now() });

  it(`recognises a repeated commit or reserve among at least the last ${IDS_KEPT} commits, and forgets older ones (bounded memory, whatever the call rate)`, () => {
    const store = new MemoryBudgetStore();
    const now = Date.now();
    const n = 2 * IDS_KEPT + 1;
    for (let i = 0; i < n; i++) {
      store.reserve(reserve(`r${i}`, now));
      expect(store.commit(commit(`r${i}`)).applied).toBe(true);
    }
    // Charged once each, nothing left reserved.
    expect(store.read([{ key: 'ids', budget: 'ids' }], now)[0]).toEqual({ used: tokens(n), reserved: tokens(0) });
    // The last IDS_KEPT are remembered: neither a repeated commit nor a repeated reserve changes anything.
    for (const i of [n - 1, n - IDS_KEPT]) {
      expect(store.commit(commit(`r${i}`)).applied).toBe(false);
      expect(store.reserve(reserve(`r${i}`, now)).admitted).toBe(true);
    }
    expect(store.read([{ key: 'ids', budget: 'ids' }], now)[0]).toEqual({ used: tokens(n), reserved: tokens(0) });
    // The oldest was forgotten: committed again, it counts again (the documented bound), once.
    expect(store.commit(commit('r0')).applied).toBe(true);
    expect(store.commit(commit('r0')).applied).toBe(false);
    expect(store.read([{ key: 'ids', budget: 'ids' }], now)[0]?.used.tokens).toBe(n + 1);
  });

  it(`keeps reservations still held when their generation of ids is dropped: ${3 * IDS_KEPT} held at once, then ${3 * IDS_KEPT} more calls, then all committed, reserve exactly 0 and count once`, () => {
    const store = new MemoryBudgetStore();
    const now = Date.now();
    const held = 3 * IDS_KEPT;
    for (let i = 0; i < held; i++) expect(store.reserve(reserve(`h${i}`, now)).admitted).toBe(true);
    // Other calls come and go meanwhile: the generations rotate several times.
    for (let i = 0; i < 3 * IDS_KEPT; i++) {
      store.reserve(reserve(`c${i}`, now));
      store.commit(commit(`c${i}`));
    }
    expect(store.read([{ key: 'ids', budget: 'ids' }], now)[0]).toEqual({ used: tokens(3 * IDS_KEPT), reserved: tokens(5 * held) });
    for (let i = 0; i < held; i++) expect(store.commit(commit(`h${i}`)).applied).toBe(true);
    // Released exactly once each, charged once each; committed again, nothing changes.
    expect(store.read([{ key: 'ids', budget: 'ids' }], now)[0]).toEqual({ used: tokens(3 * IDS_KEPT + held), reserved: tokens(0) });
    expect(store.commit(commit(`h${held - 1}`)).applied).toBe(false);
    expect(store.commit(commit(`h${held - IDS_KEPT}`)).applied).toBe(false);
  });

  it('a reservation whose lease ran out is released once by the sweep; reserved again under its id, it holds again; its commit releases that and counts once', () => {
    const store = new MemoryBudgetStore();
    const now = Date.now();
    store.reserve({ ...reserve('late', now), leaseMs: 500 });
    // The sweep runs at most once a second: past the lease and the sweep interval, it is released.
    expect(store.read([{ key: 'ids', budget: 'ids' }], now + 2_000)[0]?.reserved).toEqual(tokens(0));
    expect(store.read([{ key: 'ids', budget: 'ids' }], now + 4_000)[0]?.reserved).toEqual(tokens(0));
    expect(store.reserve(reserve('late', now + 4_000)).admitted).toBe(true);
    expect(store.read([{ key: 'ids', budget: 'ids' }], now + 4_000)[0]?.reserved).toEqual(tokens(5));
    expect(store.commit(commit('late')).applied).toBe(true);
    expect(store.commit(commit('late')).applied).toBe(false);
    expect(store.read([{ key: 'ids', budget: 'ids' }], now + 4_000)[0]).toEqual({ used: tokens(1), reserved: tokens(0) });
  });

  describe('as admission uses it: fresh ids, commits with the handle', () => {
    const fresh = (id: string, now: number): ReserveRequest => ({ ...reserve(id, now), fresh: true });

    it(`${3 * IDS_KEPT} held across generations, ${3 * IDS_KEPT} calls meanwhile: each commit through its handle releases and counts once, a repeat by id or by handle changes nothing`, () => {
      const store = new MemoryBudgetStore();
      const now = Date.now();
      const handles = Array.from({ length: 3 * IDS_KEPT }, (_, i) => store.reserve(fresh(`h${i}`, now)).handle);
      for (let i = 0; i < 3 * IDS_KEPT; i++) store.commit({ ...commit(`c${i}`), handle: store.reserve(fresh(`c${i}`, now)).handle });
      expect(store.read([{ key: 'ids', budget: 'ids' }], now)[0]).toEqual({ used: tokens(3 * IDS_KEPT), reserved: tokens(5 * 3 * IDS_KEPT) });
      handles.forEach((handle, i) => expect(store.commit({ ...commit(`h${i}`), handle }).applied).toBe(true));
      expect(store.read([{ key: 'ids', budget: 'ids' }], now)[0]).toEqual({ used: tokens(6 * IDS_KEPT), reserved: tokens(0) });
      const last = 3 * IDS_KEPT - 1;
      expect(store.commit({ ...commit(`h${last}`), handle: handles[last] }).applied).toBe(false);
      expect(store.commit(commit(`h${last}`)).applied).toBe(false);
      expect(store.commit(commit(`h${last - IDS_KEPT + 1}`)).applied).toBe(false);
      // A re-sent reserve of a recent id (not fresh) is recognised: nothing is reserved again.
      expect(store.reserve(reserve(`h${last}`, now)).admitted).toBe(true);
      expect(store.read([{ key: 'ids', budget: 'ids' }], now)[0]).toEqual({ used: tokens(6 * IDS_KEPT), reserved: tokens(0) });
    });

    it(`a fresh reservation never committed is still released when its lease runs out, ${3 * IDS_KEPT} calls later (carried through the generations)`, () => {
      const store = new MemoryBudgetStore();
      const now = Date.now();
      store.reserve({ ...fresh('lost', now), leaseMs: 500 });
      for (let i = 0; i < 3 * IDS_KEPT; i++) store.commit({ ...commit(`c${i}`), handle: store.reserve(fresh(`c${i}`, now)).handle });
      expect(store.read([{ key: 'ids', budget: 'ids' }], now)[0]?.reserved).toEqual(tokens(5));
      expect(store.read([{ key: 'ids', budget: 'ids' }], now + 2_000)[0]).toEqual({ used: tokens(3 * IDS_KEPT), reserved: tokens(0) });
    });

    it("a handle that is another store's, or another id's, is not trusted: the commit finds its reservation by id", () => {
      const store = new MemoryBudgetStore();
      const other = new MemoryBudgetStore();
      const now = Date.now();
      const a = store.reserve(fresh('a', now)).handle;
      const b = store.reserve(fresh('b', now)).handle;
      const foreign = other.reserve(fresh('a', now)).handle;
      expect(store.commit({ ...commit('a'), handle: foreign }).applied).toBe(true);
      expect(store.commit({ ...commit('b'), handle: a }).applied).toBe(true);
      // 'a' and 'b' were each released once and counted once; the wrong handles changed nothing else.
      expect(store.read([{ key: 'ids', budget: 'ids' }], now)[0]).toEqual({ used: tokens(2), reserved: tokens(0) });
      expect(store.commit({ ...commit('b'), handle: b }).applied).toBe(false);
      expect(store.commit({ ...commit('a'), handle: a }).applied).toBe(false);
      expect(other.read([{ key: 'ids', budget: 'ids' }], now)[0]).toEqual({ used: tokens(0), reserved: tokens(5) });
    });

    it('fresh reservations made after the first lookup by id are found by id too', () => {
      const store = new MemoryBudgetStore();
      const now = Date.now();
      expect(store.commit(commit('unknown')).applied).toBe(true);
      for (let i = 0; i < IDS_KEPT + 10; i++) store.reserve(fresh(`f${i}`, now));
      expect(store.commit(commit(`f${IDS_KEPT + 9}`)).applied).toBe(true);
      expect(store.commit(commit('f0')).applied).toBe(true);
      expect(store.read([{ key: 'ids', budget: 'ids' }], now)[0]).toEqual({ used: tokens(3), reserved: tokens(5 * (IDS_KEPT + 8)) });
    });
  });

  describe('what an adversarial pass broke in the first version of the above (each a regression test)', () => {
    const fresh = (id: string, now: number): ReserveRequest => ({ ...reserve(id, now), fresh: true });
    const read = (store: MemoryBudgetStore, now: number) => store.read([{ key: 'ids', budget: 'ids' }], now)[0];

    it('expired, then re-sent under its id: a commit with the first (stale) handle and one with the second count once between them, and release what is held', () => {
      for (const order of ['stale first', 'current first'] as const) {
        const store = new MemoryBudgetStore();
        const now = Date.now();
        const stale = store.reserve({ ...reserve('x', now), leaseMs: 500 }).handle;
        expect(read(store, now + 2_000)?.reserved).toEqual(tokens(0));
        const current = store.reserve(reserve('x', now + 2_000)).handle;
        const [first, second] = order === 'stale first' ? [stale, current] : [current, stale];
        expect(store.commit({ ...commit('x'), handle: first }).applied).toBe(true);
        expect(store.commit({ ...commit('x'), handle: second }).applied).toBe(false);
        expect(store.commit(commit('x')).applied).toBe(false);
        expect(read(store, now + 2_000)).toEqual({ used: tokens(1), reserved: tokens(0) });
      }
    });

    it(`with ${IDS_KEPT - 1} reservations held, a committed id is still remembered ${IDS_KEPT - 1} ids later (held ones do not fill a generation)`, () => {
      const store = new MemoryBudgetStore();
      const now = Date.now();
      for (let i = 0; i < IDS_KEPT - 1; i++) store.reserve(fresh(`h${i}`, now));
      // Enough calls that the held ones outlive a generation.
      for (let i = 0; i < IDS_KEPT; i++) store.commit({ ...commit(`f${i}`), handle: store.reserve(fresh(`f${i}`, now)).handle });
      store.commit({ ...commit('X'), handle: store.reserve(fresh('X', now)).handle });
      for (let i = 0; i < IDS_KEPT - 1; i++) store.commit({ ...commit(`y${i}`), handle: store.reserve(fresh(`y${i}`, now)).handle });
      const before = read(store, now);
      expect(store.commit(commit('X')).applied).toBe(false);
      expect(store.reserve(reserve('X', now)).admitted).toBe(true);
      expect(read(store, now)).toEqual(before);
    });

    it(`${4 * IDS_KEPT} reservations held at all times (each call reserves, the oldest commits): every one released and counted once, as by id`, () => {
      for (const withHandle of [true, false]) {
        const store = new MemoryBudgetStore();
        const now = Date.now();
        const held: { id: string; handle: unknown }[] = [];
        const calls = 8 * IDS_KEPT;
        for (let i = 0; i < calls; i++) {
          held.push({ id: `r${i}`, handle: store.reserve(withHandle ? fresh(`r${i}`, now) : reserve(`r${i}`, now)).handle });
          if (held.length > 4 * IDS_KEPT) {
            const oldest = held.shift()!;
            expect(store.commit({ ...commit(oldest.id), ...(withHandle ? { handle: oldest.handle } : {}) }).applied).toBe(true);
          }
        }
        for (const r of held) expect(store.commit({ ...commit(r.id), ...(withHandle ? { handle: r.handle } : {}) }).applied).toBe(true);
        expect(read(store, now)).toEqual({ used: tokens(calls), reserved: tokens(0) });
      }
    });

    it(`a reservation held longer than two generations and expired: a commit by id, then with its handle, count once`, () => {
      const store = new MemoryBudgetStore();
      const now = Date.now();
      const handle = store.reserve({ ...fresh('long', now), leaseMs: 500 }).handle;
      for (let i = 0; i < 3 * IDS_KEPT; i++) store.commit({ ...commit(`c${i}`), handle: store.reserve(fresh(`c${i}`, now)).handle });
      expect(read(store, now + 2_000)?.reserved).toEqual(tokens(0));
      expect(store.commit(commit('long')).applied).toBe(true);
      expect(store.commit({ ...commit('long'), handle }).applied).toBe(false);
      expect(read(store, now + 2_000)).toEqual({ used: tokens(3 * IDS_KEPT + 1), reserved: tokens(0) });
    });

    it('a commit whose counter the sweep dropped (its window long over) still counts, on the counter as it is now', () => {
      const store = new MemoryBudgetStore();
      const now = Date.now();
      const day = 86_400_000;
      const entry = { key: 'old-window', budget: 'ids', limits: { tokens: 100 }, amounts: tokens(0), enforce: true, windowEnd: now };
      const handle = store.reserve({ id: 'z', entries: [entry], now, leaseMs: 3 * day, fresh: true }).handle;
      store.read([{ key: 'old-window', budget: 'ids' }], now + 2 * day);
      expect(store.commit({ id: 'z', entries: [{ key: 'old-window', budget: 'ids', actual: tokens(1), windowEnd: now }], now: now + 2 * day, handle }).applied).toBe(true);
      expect(store.read([{ key: 'old-window', budget: 'ids' }], now + 2 * day)[0]?.used).toEqual(tokens(1));
    });
  });

  describe('what a second adversarial pass broke (each a regression test)', () => {
    const fresh = (id: string, now: number, leaseMs = 60_000): ReserveRequest => ({ ...reserve(id, now), leaseMs, fresh: true });
    const read = (store: MemoryBudgetStore, now: number) => store.read([{ key: 'ids', budget: 'ids' }], now)[0];
    const churn = (store: MemoryBudgetStore, n: number, now: number) => {
      for (let i = 0; i < n; i++) store.commit({ ...commit(`churn${i}`), handle: store.reserve(fresh(`churn${i}`, now)).handle });
    };

    it('a handle to an expired reservation the store has since forgotten is not trusted: with a commit by id, and with a re-sent reserve, it counts once', () => {
      const store = new MemoryBudgetStore();
      const now = Date.now();
      const stale = store.reserve(fresh('X', now, 500)).handle;
      read(store, now + 2_000);
      churn(store, 2 * IDS_KEPT + 1, now + 2_000);
      const used = read(store, now + 2_000)?.used.tokens ?? 0;
      expect(store.commit(commit('X')).applied).toBe(true);
      expect(store.commit({ ...commit('X'), handle: stale }).applied).toBe(false);
      expect(read(store, now + 2_000)).toEqual({ used: tokens(used + 1), reserved: tokens(0) });
    });

    it('an expired reservation forgotten, its id re-sent: the new handle and the stale one count once between them, in either order', () => {
      for (const staleFirst of [false, true]) {
        const store = new MemoryBudgetStore();
        const now = Date.now();
        const stale = store.reserve({ ...reserve('X', now), leaseMs: 500 }).handle;
        read(store, now + 2_000);
        churn(store, 2 * IDS_KEPT + 1, now + 2_000);
        const used = read(store, now + 2_000)?.used.tokens ?? 0;
        const current = store.reserve(reserve('X', now + 2_000)).handle;
        const [first, second] = staleFirst ? [stale, current] : [current, stale];
        expect(store.commit({ ...commit('X'), handle: first }).applied).toBe(true);
        expect(store.commit({ ...commit('X'), handle: second }).applied).toBe(false);
        expect(store.commit(commit('X')).applied).toBe(false);
        expect(read(store, now + 2_000)).toEqual({ used: tokens(used + 1), reserved: tokens(0) });
      }
    });

    it(`${2 * IDS_KEPT} long-held reservations expiring at once do not push a just-committed id out of memory`, () => {
      const store = new MemoryBudgetStore();
      const now = Date.now();
      for (let i = 0; i < 2 * IDS_KEPT; i++) store.reserve(fresh(`h${i}`, now, 5_000));
      churn(store, 2 * IDS_KEPT, now);
      store.commit({ ...commit('X'), handle: store.reserve(fresh('X', now)).handle });
      const before = read(store, now);
      expect(read(store, now + 10_000)).toEqual({ used: before?.used, reserved: tokens(0) });
      expect(store.commit(commit('X')).applied).toBe(false);
      store.reserve(reserve('X', now + 10_000));
      expect(read(store, now + 10_000)).toEqual({ used: before?.used, reserved: tokens(0) });
    });

    it("a caller's `now` an hour ahead, then the real time again: leases still run out when they should (the sweep follows the clock back)", () => {
      const store = new MemoryBudgetStore();
      const now = Date.now();
      read(store, now + 3_600_000);
      store.reserve(fresh('lost', now, 500));
      expect(read(store, now + 60_000)?.reserved).toEqual(tokens(0));
    });

    it('two fresh reservations under one id (a caller breaking its promise), both held past two generations: both released when their leases run out', () => {
      const store = new MemoryBudgetStore();
      const now = Date.now();
      store.reserve(fresh('dup', now, 5_000));
      store.reserve(fresh('dup', now, 5_000));
      churn(store, 3 * IDS_KEPT, now);
      expect(read(store, now + 20_000)?.reserved).toEqual(tokens(0));
    });

    it('two entries of one request on the same counter are checked together (all or none): 6 + 6 does not fit under 10', () => {
      const store = new MemoryBudgetStore();
      const now = Date.now();
      const entry = { key: 'same', budget: 'ids', limits: { tokens: 10 }, amounts: tokens(6), enforce: true, windowEnd };
      const r = store.reserve({ id: 'd', entries: [entry, entry], now, leaseMs: 60_000 });
      expect(r.admitted).toBe(false);
      expect(r.rejected).toEqual({ index: 1, field: 'tokens' });
      expect(store.read([{ key: 'same', budget: 'ids' }], now)[0]?.reserved).toEqual(tokens(0));
      expect(store.reserve({ id: 'one', entries: [entry], now, leaseMs: 60_000 }).admitted).toBe(true);
    });
  });
});
