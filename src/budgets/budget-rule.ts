import { ConfigurationError } from '../errors/configuration-error.js';
import { MAX_COST_LIMIT_USD, MAX_SAFE_AMOUNT } from '../money.js';
import { assertKnownKeys } from '../validate.js';
import { LIMIT_TYPES, limitsToUnits, type Limits, type UnitLimits } from './amounts.js';
import { assertRuleKey, compileMatch, type CallMatch, type Matcher } from './rule.js';
import type { CounterState } from './store.js';
import { BUDGET_WINDOWS, type BudgetWindow } from './window.js';

/** A spending cap on the calls it matches. */
export interface BudgetRule {
  /** Unique name; it appears in errors, events, metrics and `status()`. */
  readonly name: string;
  /** Which calls count. @defaultValue every call */
  readonly match?: CallMatch;
  /** An attribution key: one counter per distinct value (calls without the key are not subject to the rule). */
  readonly per?: string;
  /** At least one of `tokens` (input + output + cache reads and writes), `inputTokens` (cache included), `outputTokens`, `costUsd`. */
  readonly limit: Limits;
  /** UTC calendar window the limit applies to. */
  readonly window: BudgetWindow;
  /** `block` rejects calls that would pass the limit; `warn` lets them through and fires an event. @defaultValue `'block'` */
  readonly action?: 'block' | 'warn';
  /** Fractions of the limit at which to fire a `threshold` event, once per window each, e.g. `[0.5, 0.8, 1]`. @defaultValue `[]` */
  readonly alertAt?: readonly number[];
}

/** A validated rule, ready for the hot path. */
export interface CompiledRule {
  readonly rule: BudgetRule;
  readonly name: string;
  readonly matches: Matcher;
  readonly per: string | undefined;
  /** As configured (`costUsd` in dollars), for reporting. */
  readonly limits: Limits;
  /** In store units (integers; cost in nano-USD), for arithmetic. */
  readonly unitLimits: UnitLimits;
  readonly window: BudgetWindow;
  readonly enforce: boolean;
  readonly alertAt: readonly number[];
  /** Whether the rule limits cost (so a call must have a price to be admitted). */
  readonly limitsCost: boolean;
  /** Its counter keys in the current window, made as calls need them (`cachedCounterKey`). */
  keys: RuleWindowKeys | undefined;
}

/** A rule's counter keys in one window: per `per` value, or the one key of a rule without `per`. */
export interface RuleWindowKeys {
  readonly start: number;
  readonly end: number;
  readonly byValue: Map<string, CounterKey>;
  none: CounterKey | undefined;
}

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

const RULE_KEYS = ['name', 'match', 'per', 'limit', 'window', 'action', 'alertAt'];

/** Rule names key store counters, joined with U+0001: no control characters. */
function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 32) return true;
  return false;
}

function nonNegativeLimit(value: unknown, field: string, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new ConfigurationError(field, 'must be a finite number ≥ 0');
  // Budgets count in exact integers (cost in nano-USD): a limit past what they can count would be silently cut.
  if (value > max) throw new ConfigurationError(field, `must be at most ${max.toLocaleString('en-US')} (budgets count exactly up to there; split a larger budget, e.g. by window or per key)`);
  return value;
}

function compileRule(raw: unknown, i: number, names: Set<string>): CompiledRule {
  if (typeof raw !== 'object' || raw === null) throw new ConfigurationError(`budgets[${i}]`, 'must be an object');
  const rule = raw as Partial<BudgetRule>;
  const name = rule.name;
  if (typeof name !== 'string' || name.length === 0 || hasControlCharacter(name)) throw new ConfigurationError(`budgets[${i}].name`, 'must be a non-empty string without control characters');
  const at = `budgets[${i}] ("${name}")`;
  assertKnownKeys(raw as Record<string, unknown>, RULE_KEYS, at);
  if (names.has(name)) throw new ConfigurationError(`${at}.name`, 'is used by another budget: names must be unique');
  names.add(name);
  if (typeof rule.limit !== 'object' || rule.limit === null) throw new ConfigurationError(`${at}.limit`, `must set at least one of ${LIMIT_TYPES.join(', ')}`);
  assertKnownKeys(rule.limit, LIMIT_TYPES, `${at}.limit`);
  const limits: { -readonly [K in keyof Limits]: number } = {};
  for (const t of LIMIT_TYPES) {
    const v = rule.limit[t];
    if (v !== undefined) limits[t] = nonNegativeLimit(v, `${at}.limit.${t}`, t === 'costUsd' ? MAX_COST_LIMIT_USD : MAX_SAFE_AMOUNT);
  }
  if (Object.keys(limits).length === 0) throw new ConfigurationError(`${at}.limit`, `must set at least one of ${LIMIT_TYPES.join(', ')}`);
  if (!BUDGET_WINDOWS.includes(rule.window as BudgetWindow)) throw new ConfigurationError(`${at}.window`, `must be one of ${BUDGET_WINDOWS.join(', ')}`);
  const action = rule.action ?? 'block';
  if (action !== 'block' && action !== 'warn') throw new ConfigurationError(`${at}.action`, "must be 'block' or 'warn'");
  if (rule.per !== undefined) {
    if (typeof rule.per !== 'string' || rule.per.length === 0) throw new ConfigurationError(`${at}.per`, 'must be an attribution key');
    assertRuleKey(rule.per, `${at}.per`);
  }
  const alertAt: readonly unknown[] = rule.alertAt ?? [];
  if (!Array.isArray(alertAt)) throw new ConfigurationError(`${at}.alertAt`, 'must be a list of fractions');
  alertAt.forEach((f, j) => {
    if (typeof f !== 'number' || !(f > 0) || f > 10) throw new ConfigurationError(`${at}.alertAt[${j}]`, 'must be a fraction of the limit above 0 (e.g. 0.8)');
  });
  return {
    rule: rule as BudgetRule,
    name,
    matches: compileMatch(rule.match, `${at}.match`),
    per: rule.per,
    limits,
    unitLimits: limitsToUnits(limits),
    window: rule.window as BudgetWindow,
    enforce: action === 'block',
    alertAt: (alertAt as number[]).slice().sort((a, b) => a - b),
    limitsCost: limits.costUsd !== undefined,
    keys: undefined,
  };
}

/** Validates budget rules; throws a {@link ConfigurationError} naming the rule and field. */
export function compileRules(rules: unknown): readonly CompiledRule[] {
  if (rules === undefined) return [];
  if (!Array.isArray(rules)) throw new ConfigurationError('budgets', 'must be an array of budget rules');
  const names = new Set<string>();
  return rules.map((raw: unknown, i) => compileRule(raw, i, names));
}
