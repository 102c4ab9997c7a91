import { attributionValue } from '../attribution/normalize.js';
import type { CompiledRule } from './budget-rule.js';
import type { MatchSubject } from './rule.js';
import type { CounterState } from './store.js';
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
  /**
   * Where the {@link KnownCounters} of `owner` keeps this counter's last state: a key made once
   * per window and value reaches it without a lookup. Only `KnownCounters` reads or writes it.
   */
  known?: KnownSlot;
}

/** One counter's last known state, as `KnownCounters` keeps it (its `key` is the newest window's). */
export interface KnownSlot {
  key: CounterKey;
  state: CounterState;
  readonly owner: object;
}

export function counterKey(rule: CompiledRule, perValue: string | undefined, now: number): CounterKey {
  const { start, end } = windowBounds(rule.window, now);
  return { rule, perValue, start, end, id: `${rule.name}\u0001${perValue ?? ''}\u0001${start}` };
}

/** A rule's counter keys in its current window, made once per value (bounded), not per call. */
interface WindowKeys {
  start: number;
  end: number;
  readonly byValue: Map<string, CounterKey>;
}

const MAX_KEYS_PER_WINDOW = 10_000;
const windows = new WeakMap<CompiledRule, WindowKeys>();

/** The counter of `rule` for `perValue` in the window containing `now` (the same object for the same window and value). */
export function cachedCounterKey(rule: CompiledRule, perValue: string | undefined, now: number): CounterKey {
  let w = windows.get(rule);
  if (w === undefined || now >= w.end || now < w.start) {
    const { start, end } = windowBounds(rule.window, now);
    w = { start, end, byValue: new Map() };
    windows.set(rule, w);
  }
  const value = perValue ?? '';
  let key = w.byValue.get(value);
  if (key === undefined) {
    key = { rule, perValue, start: w.start, end: w.end, id: `${rule.name}\u0001${value}\u0001${w.start}` };
    if (w.byValue.size >= MAX_KEYS_PER_WINDOW) w.byValue.clear();
    w.byValue.set(value, key);
  }
  return key;
}

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
