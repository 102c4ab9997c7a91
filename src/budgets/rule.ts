import { CANONICAL_KEY, normalizeKey } from '../attribution/keys.js';
import { attributionValue } from '../attribution/normalize.js';
import { ConfigurationError } from '../errors/configuration-error.js';
import type { Attribution } from '../record.js';
import { compileGlobs } from './glob.js';

/**
 * What a budget or policy applies to: attribution keys and the model, each an exact value or a
 * glob (`*`), or a list of them. `model` is matched against the base model (so inference
 * profiles and ARNs match too) and against the id as called. Omitted: every call.
 *
 * @example { team: 'search', model: 'anthropic.claude-opus-*' }
 */
export type CallMatch = Readonly<Record<string, string | readonly string[]>>;

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

/**
 * Checks that a rule names an attribution key in its canonical form (`team`, `tenant_id`): a
 * key that could never appear on a call (`Team`, `tenantId`) would make a rule that never applies.
 */
export function assertRuleKey(key: string, field: string): void {
  if (CANONICAL_KEY.test(key) && normalizeKey(key).key === key) return;
  const k = normalizeKey(key);
  throw new ConfigurationError(
    field,
    k.key === undefined ? `"${key.slice(0, 80)}" cannot be an attribution key: it ${k.problem}` : `attribution keys are normalised to snake_case: write "${k.key}" (calls attributed with "${key.slice(0, 80)}" are recorded as "${k.key}")`,
  );
}

/** Compiles a `match` object; throws naming `field` on invalid input. Reads own properties only. */
export function compileMatch(match: unknown, field: string): Matcher {
  if (match === undefined) return () => true;
  if (typeof match !== 'object' || match === null || Array.isArray(match)) throw new ConfigurationError(field, 'must be an object of key → value or glob');
  const tests: Matcher[] = [];
  const m = match as Record<string, unknown>;
  for (const key of Object.keys(m)) {
    const value = m[key];
    if (!isGlobList(value)) throw new ConfigurationError(`${field}.${key}`, 'must be a string or a non-empty list of strings (globs allowed)');
    const test = compileGlobs(value);
    if (key === 'model') {
      tests.push((s) => test(s.modelId) || (s.baseModelId !== undefined && test(s.baseModelId)));
      continue;
    }
    assertRuleKey(key, `${field}.${key}`);
    tests.push((s) => {
      const v = attributionValue(s.attribution, key);
      return v !== undefined && test(v);
    });
  }
  if (tests.length === 0) return () => true;
  if (tests.length === 1 && tests[0] !== undefined) return tests[0];
  return (s) => tests.every((t) => t(s));
}
