import { MemoryBudgetStore } from '../../src/budgets/memory-store.js';
import type { BudgetStore, CommitRequest, CommitResult, CounterRef, CounterState, ReserveRequest, ReserveResult } from '../../src/budgets/store.js';

type Mode = 'sync' | 'async' | 'throw' | 'reject';

/**
 * A budget store for unit tests: answers like the in-memory reference store, synchronously or
 * asynchronously, or fails (throws, or rejects) on demand, and keeps every request it saw.
 */
export class FakeStore implements BudgetStore {
  readonly inner = new MemoryBudgetStore();
  readonly reserves: ReserveRequest[] = [];
  readonly commits: CommitRequest[] = [];
  reserveMode: Mode = 'sync';
  commitMode: Mode = 'sync';
  readMode: Mode = 'sync';

  private answer<T>(mode: Mode, value: () => T): T | Promise<T> {
    if (mode === 'throw') throw new Error('store down');
    if (mode === 'reject') return Promise.reject(new Error('store down'));
    return mode === 'async' ? Promise.resolve().then(value) : value();
  }

  reserve(request: ReserveRequest): ReserveResult | Promise<ReserveResult> {
    this.reserves.push(request);
    return this.answer(this.reserveMode, () => this.inner.reserve(request));
  }

  commit(request: CommitRequest): CommitResult | Promise<CommitResult> {
    this.commits.push(request);
    return this.answer(this.commitMode, () => this.inner.commit(request));
  }

  read(counters: readonly CounterRef[], now: number): readonly CounterState[] | Promise<readonly CounterState[]> {
    return this.answer(this.readMode, () => this.inner.read(counters, now));
  }
}
