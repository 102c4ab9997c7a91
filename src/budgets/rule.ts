import { ConfigurationError } from '../errors/configuration-error.js';
import type { Attribution } from '../record.js';
import { LIMIT_TYPES, type Limits } from './amounts.js';
import { compileGlobs } from './glob.js';
import { BUDGET_WINDOWS, type BudgetWindow } from './window.js';

/**
 * What a budget or policy applies to: attribution keys and the model, each an exact value or a
 * glob (`*`), or a list of them. `model` is matched against the base model (so inference
 * profiles and ARNs match too) and against the id as called. Omitted: every call.
 *
 * @example { team: 'search', model: 'anthropic.claude-opus-*' }
 */
export type CallMatch = Readonly<Record<string, string | readonly string[]>>;

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

/** What a matcher sees of a call. */
export interface MatchSubject {
  readonly attribution: Attribution;
  /** The id as called. */
  readonly modelId: string;
  /** The base model when known. */
  readonly baseModelId: string | undefined;
}

export type Matcher = (subject: MatchSubject) => boolean;

function isGlobList(value: unknown): value is string | readonly string[] {
  return typeof value === 'string' || (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string'));
}

/** Compiles a `match` object; throws naming `field` on invalid input. */
export function compileMatch(match: unknown, field: string): Matcher {
  if (match === undefined) return () => true;
  if (typeof match !== 'object' || match === null || Array.isArray(match)) throw new ConfigurationError(field, 'must be an object of key → value or glob');
  const tests: Matcher[] = [];
  for (const [key, value] of Object.entries(match as Record<string, unknown>)) {
    if (!isGlobList(value)) throw new ConfigurationError(`${field}.${key}`, 'must be a string or a non-empty list of strings (globs allowed)');
    const test = compileGlobs(value);
    if (key === 'model') tests.push((s) => test(s.modelId) || (s.baseModelId !== undefined && test(s.baseModelId)));
    else
      tests.push((s) => {
        const v = s.attribution[key];
        return v !== undefined && test(v);
      });
  }
  if (tests.length === 1 && tests[0] !== undefined) return tests[0];
  return (s) => tests.every((t) => t(s));
}

/** A validated rule, ready for the hot path. */
export interface CompiledRule {
  readonly rule: BudgetRule;
  readonly name: string;
  readonly matches: Matcher;
  readonly per: string | undefined;
  readonly limits: Limits;
  readonly window: BudgetWindow;
  readonly enforce: boolean;
  readonly alertAt: readonly number[];
}

function positive(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new ConfigurationError(field, 'must be a finite number ≥ 0');
  return value;
}

/** Validates budget rules; throws a {@link ConfigurationError} naming the rule and field. */
export function compileRules(rules: unknown): readonly CompiledRule[] {
  if (rules === undefined) return [];
  if (!Array.isArray(rules)) throw new ConfigurationError('budgets', 'must be an array of budget rules');
  const names = new Set<string>();
  return rules.map((raw: unknown, i) => {
    if (typeof raw !== 'object' || raw === null) throw new ConfigurationError(`budgets[${i}]`, 'must be an object');
    const rule = raw as Partial<BudgetRule>;
    const name = rule.name;
    if (typeof name !== 'string' || name.length === 0) throw new ConfigurationError(`budgets[${i}].name`, 'must be a non-empty string');
    const at = `budgets[${i}] ("${name}")`;
    if (names.has(name)) throw new ConfigurationError(`${at}.name`, 'is used by another budget: names must be unique');
    names.add(name);
    if (typeof rule.limit !== 'object' || rule.limit === null) throw new ConfigurationError(`${at}.limit`, `must set at least one of ${LIMIT_TYPES.join(', ')}`);
    const limits: Record<string, number> = {};
    for (const [k, v] of Object.entries(rule.limit)) {
      if (!(LIMIT_TYPES as readonly string[]).includes(k)) throw new ConfigurationError(`${at}.limit.${k}`, `is not a limit type (${LIMIT_TYPES.join(', ')})`);
      if (v !== undefined) limits[k] = positive(v, `${at}.limit.${k}`);
    }
    if (Object.keys(limits).length === 0) throw new ConfigurationError(`${at}.limit`, `must set at least one of ${LIMIT_TYPES.join(', ')}`);
    if (!BUDGET_WINDOWS.includes(rule.window as BudgetWindow)) throw new ConfigurationError(`${at}.window`, `must be one of ${BUDGET_WINDOWS.join(', ')}`);
    const action = rule.action ?? 'block';
    if (action !== 'block' && action !== 'warn') throw new ConfigurationError(`${at}.action`, "must be 'block' or 'warn'");
    if (rule.per !== undefined && (typeof rule.per !== 'string' || rule.per.length === 0)) throw new ConfigurationError(`${at}.per`, 'must be an attribution key');
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
      window: rule.window as BudgetWindow,
      enforce: action === 'block',
      alertAt: (alertAt as number[]).slice().sort((a, b) => a - b),
    };
  });
}
