import { compileMatch, type CallMatch, type MatchSubject } from '../budgets/rule.js';
import { compileGlobs } from '../budgets/glob.js';
import { ConfigurationError } from '../errors/configuration-error.js';
import type { ModelRef } from '../model/model-id.js';

/**
 * Which of Bedrock's on-demand quotas a call draws on: `in-region` (a foundation model id or
 * ARN: "On-demand InvokeModel tokens per minute"), `cross-region` (a geographic inference profile
 * such as `us.`: "Cross-Region InvokeModel tokens per minute") or `global` (a `global.` profile).
 */
export type QuotaPool = 'in-region' | 'cross-region' | 'global';

export const QUOTA_POOLS: readonly QuotaPool[] = ['in-region', 'cross-region', 'global'];

/**
 * What a quota applies to: `model` (required; the base model, so profiles and ARNs match too, or
 * the id as called), optionally `region` and `inference` (the {@link QuotaPool}), and any
 * attribution keys, each an exact value, a glob (`*`) or a list.
 */
export type QuotaMatch = CallMatch & {
  readonly model: string | readonly string[];
  readonly region?: string | readonly string[];
  readonly inference?: QuotaPool | readonly QuotaPool[];
};

/** What a quota matcher sees of a call. */
export interface QuotaSubject extends MatchSubject {
  /** The region the call goes to, when the id (an ARN) or the request URL names it. */
  readonly region: string | undefined;
  /** The pool it draws on; `undefined` when the id does not say (an application inference profile). */
  readonly pool: QuotaPool | undefined;
  /** Provisioned throughput is outside every on-demand quota. */
  readonly provisioned: boolean;
}

/** A compiled `match`: the whole of it, and its model part (`model`, `region`, `inference`) alone. */
export interface CompiledQuotaMatch {
  readonly matches: (s: QuotaSubject) => boolean;
  /** For account-wide signals (a throttle) that carry no attribution. */
  readonly matchesModel: (s: QuotaSubject) => boolean;
}

const REGION_HOST = /^bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

/** The region of a Bedrock Runtime host name (`bedrock-runtime.us-east-1.amazonaws.com`). */
export function regionOfHost(host: string | undefined): string | undefined {
  return host === undefined ? undefined : REGION_HOST.exec(host)?.[1];
}

/** The pool a model id draws on (see {@link QuotaPool}). */
export function poolOf(ref: ModelRef): QuotaPool | undefined {
  switch (ref.kind) {
    case 'foundation-model':
      return 'in-region';
    case 'inference-profile':
      return ref.geography === 'global' ? 'global' : ref.geography === undefined ? undefined : 'cross-region';
    default:
      return undefined;
  }
}

/**
 * Compiles a quota's `match`. `region` and `inference` are tested only when the call says:
 * a call whose region or pool cannot be known before it is sent (a bare model id through the
 * SDK, whose client region the middleware cannot see) counts against every quota its model
 * matches — counting a call against a quota it may not draw on only paces it earlier.
 */
export function compileQuotaMatch(match: unknown, field: string): CompiledQuotaMatch {
  if (typeof match !== 'object' || match === null || Array.isArray(match)) throw new ConfigurationError(field, "must be an object with at least `model` (e.g. { model: 'anthropic.claude-sonnet-4*' })");
  const { region, inference, ...rest } = match as Record<string, unknown>;
  if (rest.model === undefined) throw new ConfigurationError(`${field}.model`, 'is required: Bedrock keeps a quota per model');
  const base = compileMatch(rest, field);
  const tests: ((s: QuotaSubject) => boolean)[] = [];
  if (region !== undefined) {
    if (!(typeof region === 'string' || (Array.isArray(region) && region.length > 0 && region.every((r) => typeof r === 'string'))))
      throw new ConfigurationError(`${field}.region`, 'must be a region or a non-empty list of regions (globs allowed)');
    const test = compileGlobs(region);
    tests.push((s) => s.region === undefined || test(s.region));
  }
  if (inference !== undefined) {
    const pools: unknown[] = Array.isArray(inference) ? inference : [inference];
    if (pools.length === 0 || !pools.every((p) => QUOTA_POOLS.includes(p as QuotaPool))) throw new ConfigurationError(`${field}.inference`, `must be one or a list of ${QUOTA_POOLS.map((p) => `'${p}'`).join(', ')}`);
    tests.push((s) => s.pool === undefined || pools.includes(s.pool));
  }
  const model = compileMatch({ model: rest.model }, field);
  return {
    matches: (s) => !s.provisioned && base(s) && tests.every((t) => t(s)),
    matchesModel: (s) => !s.provisioned && model(s) && tests.every((t) => t(s)),
  };
}
