import { attributionValue } from '../attribution/normalize.js';
import type { CompiledRule } from './budget-rule.js';
import type { MatchSubject } from './rule.js';
import { windowBounds } from './window.js';

/** One budget counter: a rule, its `per` value and the window a call falls in. */
export interface CounterKey {
  readonly rule: CompiledRule;
  /** The `per` value, or `undefined` for a rule without `per`. */
  readonly perValue: string | undefined;
  /** Window bounds, epoch ms (`end` is `Infinity` for `total`). */
  readonly start: number;
  readonly end: number;
  /** The store key: unique per rule, value and window (rule names cannot contain U+0001). */
  readonly id: string;
}

export function counterKey(rule: CompiledRule, perValue: string | undefined, now: number): CounterKey {
  const { start, end } = windowBounds(rule.window, now);
  return { rule, perValue, start, end, id: `${rule.name}\u0001${perValue ?? ''}\u0001${start}` };
}

/** The counters a call is subject to: every matching rule, except `per` rules the call has no value for. */
export function matchingKeys(rules: readonly CompiledRule[], subject: MatchSubject, now: number): CounterKey[] {
  const out: CounterKey[] = [];
  for (const rule of rules) {
    if (!rule.matches(subject)) continue;
    if (rule.per === undefined) {
      out.push(counterKey(rule, undefined, now));
      continue;
    }
    const value = attributionValue(subject.attribution, rule.per);
    if (value !== undefined) out.push(counterKey(rule, value, now));
  }
  return out;
}
