import { describe, expect, it } from 'vitest';
import { InsuranceAllowance } from '../../src/budgets/insurance.js';
import type { ReservationEntry } from '../../src/budgets/index.js';

const now = Date.UTC(2026, 10, 27, 12);
function entry(key: string, limit: number, tokens: number, enforce = true): ReservationEntry {
  return { key, budget: key, limits: { tokens: limit }, amounts: { tokens, inputTokens: tokens, outputTokens: 0, nanoUsd: 0 }, enforce, windowEnd: now + 3_600_000 };
}

describe('the insurance allowance', () => {
  it('admits estimates up to its fraction of each limit per counter, then refuses, and does not give the allowance back', () => {
    const insurance = new InsuranceAllowance(0.1);
    const results = Array.from({ length: 15 }, (_, i) => insurance.admit(`id${i}`, [entry('a', 1_000, 10)], now).admitted);
    // 10% of 1,000 tokens: ten calls of 10.
    expect(results.filter(Boolean)).toHaveLength(10);
    expect(results.slice(10)).toEqual([false, false, false, false, false]);
    expect({ admitted: insurance.admitted, refused: insurance.refused }).toEqual({ admitted: 10, refused: 5 });
    expect(insurance.admit('later', [entry('a', 1_000, 10)], now + 60_000).admitted).toBe(false);
  });

  it('is all or none across the counters a call matches, and a warn budget never stops a call', () => {
    const insurance = new InsuranceAllowance(0.1);
    expect(insurance.admit('x', [entry('wide', 10_000, 50), entry('narrow', 100, 50)], now)).toMatchObject({ admitted: false, rejected: { index: 1 } });
    expect(insurance.admit('y', [entry('wide', 10_000, 50), entry('warn', 100, 50, false)], now)).toMatchObject({ admitted: true, exceeded: [{ index: 1 }] });
  });

  it('with fraction 0 admits nothing', () => {
    expect(new InsuranceAllowance(0).admit('z', [entry('a', 1_000_000, 1)], now).admitted).toBe(false);
  });
});
