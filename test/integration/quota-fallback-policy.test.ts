import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bedrockFinOps, isConfigurationError, isQuotaExceededError, withAttribution, type BedrockFinOps, type BedrockFinOpsOptions, type ModelPolicy } from '../../src/index.js';
import type { QuotaRule } from '../../src/quotas/index.js';
import { converseReply, makeClient, on, recorder, useMockBedrock } from '../helpers/bedrock.js';

/**
 * A quota with no room sends a call to its fallback only where the model policies allow the
 * call: a forbidden fallback refuses the call as if the fallback had no room.
 */
const SONNET = 'anthropic.claude-sonnet-4-5-20250929-v1:0';
const GLOBAL = `global.${SONNET}`;
const HAIKU = 'anthropic.claude-haiku-4-5-20251001-v1:0';
const USAGE = { inputTokens: 10, outputTokens: 20 };
/** What a quota is charged for one served call: input + output × 5 (Claude 4 class burndown), one request. */
const CHARGED = { tokens: USAGE.inputTokens + USAGE.outputTokens * 5, requests: 1 };
const NOTHING = { tokens: 0, requests: 0 };

const server = useMockBedrock();
/** Model ids that reached Bedrock, in order. */
const sent: string[] = [];
const warnings: string[] = [];
beforeAll(() => {
  diag.setLogger({ error: (m) => warnings.push(m), warn: (m) => warnings.push(m), info: () => undefined, debug: () => undefined, verbose: () => undefined }, DiagLogLevel.WARN);
});
afterEach(() => {
  sent.length = 0;
  warnings.length = 0;
});
afterAll(() => {
  diag.disable();
});

/** One request a minute: the first call fills it, the next has no room (`limit`, not `too-large`), so it goes to `fallback`. */
const inRegion = (fallback: string): QuotaRule => ({
  name: 'sonnet',
  match: { model: 'anthropic.claude-sonnet-4*', inference: 'in-region' },
  tokensPerMinute: 1_000_000,
  requestsPerMinute: 1,
  onLimit: 'fallback',
  fallback,
});
const globalQuota: QuotaRule = { name: 'global', match: { model: 'anthropic.claude-sonnet-4*', inference: 'global' }, tokensPerMinute: 1_000_000, onLimit: 'reject' };
const DAILY = { name: 'daily', limit: { tokens: 10_000_000 }, window: 'day' } as const;

function setup(quotas: QuotaRule[], policies: ModelPolicy[]) {
  server.use(
    on('converse', ({ params }) => {
      sent.push(decodeURIComponent(params.modelId));
      return converseReply(USAGE);
    }),
  );
  const { records, onUsage } = recorder();
  const options: BedrockFinOpsOptions = { quotas, policies, budgets: [DAILY], onUsage };
  const finops = bedrockFinOps(options);
  const client = makeClient(finops, { maxAttempts: 1 });
  const call = (team: string) => withAttribution({ team }, () => client.send(new ConverseCommand({ modelId: SONNET, messages: [{ role: 'user', content: [{ text: 'hello' }] }], inferenceConfig: { maxTokens: 100 } })));
  return { finops, records, call };
}

async function refusal(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (error) {
    return error;
  }
  throw new Error('the call was not refused');
}

function quota(finops: BedrockFinOps, name: string) {
  const q = finops.quotas.status().find((s) => s.quota === name);
  if (q === undefined) throw new Error(`no quota ${name}`);
  return q;
}

async function daily(finops: BedrockFinOps) {
  const [d] = await finops.budgets.status();
  if (d === undefined) throw new Error('no budget');
  return d;
}

const forbiddenReports = () => warnings.filter((m) => m.includes('forbidden by policy'));

describe('a quota fallback and the model policies', () => {
  it('refuses a call whose fallback a deny policy forbids for its attribution: the quota error, nothing sent, nothing held, one report', async () => {
    const { finops, records, call } = setup([inRegion(GLOBAL), globalQuota], [{ name: 'search-in-region', match: { team: 'search' }, denyModels: ['global.*'] }]);
    // The first call fills the in-region quota's one request: charged CHARGED there, 30 tokens to the budget.
    await call('search');
    expect(sent).toEqual([SONNET]);

    // The next two would go to the global profile, which the policy forbids the team: both refused with the in-region quota's refusal.
    for (let i = 0; i < 2; i++) {
      const error = await refusal(call('search'));
      expect(isQuotaExceededError(error)).toBe(true);
      expect(error).toMatchObject({ quota: 'sonnet', reason: 'limit' });
    }
    // Nothing sent, nothing recorded for them.
    expect(sent).toEqual([SONNET]);
    expect(records).toHaveLength(1);
    // Charged: only the served call; released: the refused calls' holds (in-region) and budget reservations; the global quota was never held.
    expect(quota(finops, 'sonnet').inUse).toEqual(CHARGED);
    expect(quota(finops, 'global').inUse).toEqual(NOTHING);
    const budget = await daily(finops);
    expect(budget.reserved.tokens).toBe(0);
    expect(budget.used.tokens).toBe(USAGE.inputTokens + USAGE.outputTokens);
    // Counted as refusals of the in-region quota, reported once (not once per call).
    expect(quota(finops, 'sonnet').counts).toMatchObject({ refused: 2, throttlesAvoided: 2 });
    expect(forbiddenReports()).toHaveLength(1);
    expect(forbiddenReports()[0]).toContain(`quota "sonnet"'s fallback "${GLOBAL}" is forbidden by policy "search-in-region" for this call; refused`);
    await finops.shutdown();
  });

  it("redirects another team's call to the same fallback (the policy matches only team search) and still refuses team search's", async () => {
    const { finops, records, call } = setup([inRegion(GLOBAL), globalQuota], [{ name: 'search-in-region', match: { team: 'search' }, denyModels: ['global.*'] }]);
    await call('search');
    // Team ads may use the global profile: sent there, recorded as a quota fallback.
    await call('ads');
    expect(sent).toEqual([SONNET, GLOBAL]);
    expect(records[1]).toMatchObject({ requestedModelId: SONNET, modelId: GLOBAL, fallback: { from: SONNET, reason: 'quota' }, outcome: 'success', attribution: { team: 'ads' } });
    // Team search may not: refused, nothing sent.
    const error = await refusal(call('search'));
    expect(error).toMatchObject({ quota: 'sonnet', reason: 'limit' });
    expect(sent).toEqual([SONNET, GLOBAL]);
    expect(records).toHaveLength(2);
    // Charged: the first call to the in-region quota, the redirected one to the global quota; nothing held; the budget used by both, nothing reserved.
    expect(quota(finops, 'sonnet').inUse).toEqual(CHARGED);
    expect(quota(finops, 'global').inUse).toEqual(CHARGED);
    const budget = await daily(finops);
    expect(budget.reserved.tokens).toBe(0);
    expect(budget.used.tokens).toBe(2 * (USAGE.inputTokens + USAGE.outputTokens));
    expect(quota(finops, 'sonnet').counts).toMatchObject({ refused: 1, throttlesAvoided: 2 });
    expect(forbiddenReports()).toHaveLength(1);
    await finops.shutdown();
  });

  it('refuses a call whose fallback is not on an allow-list that applies to it', async () => {
    const { finops, records, call } = setup([{ ...inRegion(HAIKU), match: { model: 'anthropic.claude-sonnet-4*' } }], [{ name: 'search-sonnet-only', match: { team: 'search' }, allowModels: ['anthropic.claude-sonnet-4*'] }]);
    await call('search');
    const error = await refusal(call('search'));
    expect(isQuotaExceededError(error)).toBe(true);
    expect(error).toMatchObject({ quota: 'sonnet', reason: 'limit' });
    // Haiku never called; charged: the first call only; released: the refused call's hold and reservation.
    expect(sent).toEqual([SONNET]);
    expect(records).toHaveLength(1);
    expect(quota(finops, 'sonnet').inUse).toEqual(CHARGED);
    expect((await daily(finops)).reserved.tokens).toBe(0);
    expect(quota(finops, 'sonnet').counts.refused).toBe(1);
    expect(forbiddenReports()).toEqual([expect.stringContaining(`quota "sonnet"'s fallback "${HAIKU}" is forbidden by policy "search-sonnet-only"`)]);
    await finops.shutdown();
  });

  it('rejects at construction a fallback a policy forbids for every call, naming the quota field', () => {
    const make = (policy: ModelPolicy, fallback = GLOBAL) => () => bedrockFinOps({ quotas: [inRegion(fallback), globalQuota], policies: [policy] });
    let error: unknown;
    try {
      make({ name: 'no-global', denyModels: ['global.*'] })();
    } catch (e) {
      error = e;
    }
    expect(isConfigurationError(error)).toBe(true);
    expect(error).toMatchObject({ field: 'quotas[0] ("sonnet").fallback' });
    expect((error as Error).message).toContain('policy "no-global"');
    // An allow-list without the fallback's model, whatever the attribution: the same.
    expect(make({ name: 'sonnet-only', allowModels: ['anthropic.claude-sonnet-4*'] }, HAIKU)).toThrow(/quotas\[0\] \("sonnet"\)\.fallback: "anthropic\.claude-haiku.*policy "sonnet-only"/);
    // A policy that forbids it only for some attributions is decided per call.
    expect(make({ match: { team: 'search' }, denyModels: ['global.*'] })).not.toThrow();
  });
});
