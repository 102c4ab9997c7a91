import { describe, expect, it } from 'vitest';
import { bedrockFinOps, type BedrockFinOpsOptions } from '../../src/index.js';
import { resolveQuotasConfig } from '../../src/quotas/config.js';
import type { QuotaSubject } from '../../src/quotas/match.js';

const base = { name: 'q', match: { model: 'anthropic.claude-sonnet-4*' }, tokensPerMinute: 1_000 };
const compile = (rule: Record<string, unknown>) => resolveQuotasConfig({ quotas: [rule as never] }).quotas[0];
const throws = (rule: Record<string, unknown>) => () => resolveQuotasConfig({ quotas: [rule as never] });
const subject = (over: Partial<QuotaSubject>): QuotaSubject => ({ attribution: {}, modelId: 'anthropic.claude-sonnet-4-5-20250929-v1:0', baseModelId: 'anthropic.claude-sonnet-4-5-20250929-v1:0', region: undefined, pool: 'in-region', provisioned: false, ...over });

describe('quota configuration', () => {
  it('names an unknown key and the closest known one', () => {
    expect(throws({ ...base, tokensPerMinut: 5 })).toThrow(/quotas\[0\] \("q"\)\.tokensPerMinut: is not an option \(did you mean "tokensPerMinute"\?\)/);
    expect(throws({ ...base, shares: { per: 'team', wieghts: {} } })).toThrow(/shares\.wieghts: .*did you mean "weights"/);
    expect(() => bedrockFinOps({ quota: [] } as unknown as BedrockFinOpsOptions)).toThrow(/invalid quota: is not an option \(did you mean "quotas"\?\)/);
  });

  it('requires a model, a token limit, a fallback with onLimit fallback, and unique names', () => {
    expect(throws({ name: 'q', match: {}, tokensPerMinute: 1 })).toThrow(/match\.model: is required/);
    expect(throws({ name: 'q', match: { model: 'x' } })).toThrow(/tokensPerMinute: is required/);
    expect(throws({ ...base, tokensPerMinute: -1 })).toThrow(/tokensPerMinute: must be a positive integer/);
    expect(throws({ ...base, onLimit: 'fallback' })).toThrow(/fallback: must be a non-empty model id/);
    expect(throws({ ...base, fallback: 'global.x' })).toThrow(/fallback: is used only with onLimit: 'fallback'/);
    expect(throws({ ...base, onLimit: 'queue' })).toThrow(/onLimit: must be one of 'wait', 'reject', 'fallback'/);
    expect(throws({ ...base, burndown: 0.5 })).toThrow(/burndown: must be at least 1/);
    expect(throws({ ...base, shares: { per: 'Team' } })).toThrow(/write "team"/);
    expect(throws({ ...base, shares: { per: 'team', floor: 2 } })).toThrow(/floor: must be a fraction/);
    expect(throws({ ...base, match: { model: 'x', inference: 'regional' } })).toThrow(/inference: must be one or a list of 'in-region', 'cross-region', 'global'/);
    expect(() => resolveQuotasConfig({ quotas: [base, base] })).toThrow(/quotas\[1\] \("q"\)\.name: is used by another quota/);
    expect(() => resolveQuotasConfig({ quotaStore: {} as never })).toThrow(/quotaStore: must implement tryHold, settle and read/);
  });

  it('defaults: wait up to two windows of 60 s, no request limit, burndown from the table', () => {
    expect(compile(base)).toMatchObject({ onLimit: 'wait', windowMs: 60_000, maxWaitMs: 120_000, limit: { tokens: 1_000, requests: Infinity }, burndown: undefined, shares: undefined });
  });

  it('matches the base model (profiles and ARNs too), never provisioned throughput, and region and pool only where the call says', () => {
    const q = compile({ ...base, match: { model: 'anthropic.claude-sonnet-4*', region: 'us-*', inference: ['in-region', 'cross-region'], team: 'search' } });
    const search = { attribution: { team: 'search' } };
    expect(q?.matches(subject({ ...search, modelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', pool: 'cross-region' }))).toBe(true);
    expect(q?.matches(subject({ ...search, region: 'eu-west-1' }))).toBe(false);
    expect(q?.matches(subject({ ...search, region: 'us-east-1' }))).toBe(true);
    expect(q?.matches(subject({ ...search, pool: 'global' }))).toBe(false);
    expect(q?.matches(subject({ ...search, pool: undefined }))).toBe(true);
    expect(q?.matches(subject({ ...search, provisioned: true }))).toBe(false);
    expect(q?.matches(subject({ attribution: { team: 'ads' } }))).toBe(false);
    expect(q?.matchesModel(subject({ attribution: {} }))).toBe(true);
  });
});
