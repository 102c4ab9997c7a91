import { ConfigurationError } from '../errors/configuration-error.js';
import { assertKnownKeys } from '../validate.js';
import { compileGlobs } from './glob.js';
import { compileMatch, type CallMatch, type Matcher, type MatchSubject } from './rule.js';

/**
 * Which models the matched calls may use (globs on the base model and the id as called). A call
 * to a model the policy forbids throws `ModelNotAllowedError` before anything is sent.
 *
 * @example { name: 'cheap-by-default', match: { team: 'search' }, allowModels: ['amazon.nova-*', 'anthropic.claude-*haiku*'] }
 */
export interface ModelPolicy {
  /** Shown in errors and metrics. @defaultValue `policies[i]` */
  readonly name?: string;
  /** Which calls it governs. @defaultValue every call */
  readonly match?: CallMatch;
  /** Only these models are allowed. */
  readonly allowModels?: readonly string[];
  /** These models are never allowed (wins over `allowModels`). */
  readonly denyModels?: readonly string[];
}

export interface CompiledPolicy {
  readonly name: string;
  readonly matches: Matcher;
  readonly allowed: ((s: MatchSubject) => boolean) | undefined;
  readonly denied: ((s: MatchSubject) => boolean) | undefined;
}

const POLICY_KEYS = ['name', 'match', 'allowModels', 'denyModels'];

function modelTest(globs: readonly string[]): (s: MatchSubject) => boolean {
  const test = compileGlobs(globs);
  return (s) => test(s.modelId) || (s.baseModelId !== undefined && test(s.baseModelId));
}

/** Validates policies; throws a {@link ConfigurationError} naming the policy and field. */
export function compilePolicies(policies: unknown): readonly CompiledPolicy[] {
  if (policies === undefined) return [];
  if (!Array.isArray(policies)) throw new ConfigurationError('policies', 'must be an array of model policies');
  return policies.map((raw: unknown, i) => {
    const at = `policies[${i}]`;
    if (typeof raw !== 'object' || raw === null) throw new ConfigurationError(at, 'must be an object');
    assertKnownKeys(raw as Record<string, unknown>, POLICY_KEYS, at);
    const p = raw as ModelPolicy;
    if (p.name !== undefined && (typeof p.name !== 'string' || p.name.length === 0)) throw new ConfigurationError(`${at}.name`, 'must be a non-empty string');
    for (const k of ['allowModels', 'denyModels'] as const) {
      const v = p[k];
      if (v !== undefined && (!Array.isArray(v) || v.some((g) => typeof g !== 'string'))) throw new ConfigurationError(`${at}.${k}`, 'must be a list of model ids or globs');
    }
    if (p.allowModels === undefined && p.denyModels === undefined) throw new ConfigurationError(at, 'must set allowModels or denyModels');
    return {
      name: p.name ?? at,
      matches: compileMatch(p.match, `${at}.match`),
      allowed: p.allowModels === undefined ? undefined : modelTest(p.allowModels),
      denied: p.denyModels === undefined ? undefined : modelTest(p.denyModels),
    };
  });
}

/** The first policy that forbids the call, if any. */
export function forbiddingPolicy(policies: readonly CompiledPolicy[], subject: MatchSubject): CompiledPolicy | undefined {
  for (const p of policies) {
    if (!p.matches(subject)) continue;
    if (p.denied?.(subject) === true) return p;
    if (p.allowed !== undefined && !p.allowed(subject)) return p;
  }
  return undefined;
}
