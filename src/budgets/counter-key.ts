import { attributionValue } from '../attribution/normalize.js';
import type { CompiledRule, CounterKey, RuleWindowKeys } from './budget-rule.js';
import type { MatchSubject } from './rule.js';
import { windowBounds } from './window.js';

export type { CounterKey, KnownSlot } from './budget-rule.js';

/** The counter of `rule` for `perValue` in the window containing `now` (the same object for the same window and value; made once per value, bounded, not per call). */
export function cachedCounterKey(rule: CompiledRule, perValue: string | undefined, now: number): CounterKey {
  // The rule holds its current window's keys: no lookup for a rule without `per`, one for a `per` value.
  let w = rule.keys;
  if (w === undefined || now >= w.end || now < w.start) {
    const { start, end } = windowBounds(rule.window, now);
    w = { start, end, byValue: new Map(), none: undefined };
    rule.keys = w;
  }
  if (perValue === undefined) return (w.none ??= makeKey(rule, undefined, w));
  let key = w.byValue.get(perValue);
  if (key === undefined) {
    key = makeKey(rule, perValue, w);
    if (w.byValue.size >= MAX_KEYS_PER_WINDOW) w.byValue.clear();
    w.byValue.set(perValue, key);
  }
  return key;
}

function makeKey(rule: CompiledRule, perValue: string | undefined, w: RuleWindowKeys): CounterKey {
  return { rule, perValue, start: w.start, end: w.end, id: `${rule.name}\u0001${perValue ?? ''}\u0001${w.start}` };
}

const MAX_KEYS_PER_WINDOW = 10_000;

const NO_KEYS: readonly CounterKey[] = Object.freeze([]);

/** The counters a call is subject to: every matching rule, except `per` rules the call has no value for. */
export function matchingKeys(rules: readonly CompiledRule[], subject: MatchSubject, now: number): readonly CounterKey[] {
  // Most calls match one rule or none: no array is grown for them (an empty array's first push allocates room for 17).
  let first: CounterKey | undefined;
  let more: CounterKey[] | undefined;
  for (const rule of rules) {
    if (!rule.matches(subject)) continue;
    let key: CounterKey;
    if (rule.per === undefined) key = cachedCounterKey(rule, undefined, now);
    else {
      const value = attributionValue(subject.attribution, rule.per);
      if (value === undefined) continue;
      key = cachedCounterKey(rule, value, now);
    }
    if (first === undefined) first = key;
    else (more ??= [first]).push(key);
  }
  return more ?? (first === undefined ? NO_KEYS : [first]);
}
