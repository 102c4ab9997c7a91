import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { bedrockFinOps, withAttribution, type BedrockFinOps } from '../src/index.js';
import type { QuotaRule, QuotaStatus } from '../src/quotas/index.js';
import { SimulatorEngine, simulatorRequestHandler } from '../src/testing/index.js';
import { num, table } from './tally.js';

/**
 * The on-demand quota of the demo's Sonnet 4.5 calls (the `intent` feature): Bedrock's minute
 * scaled down to a few seconds so the run stays short; the arithmetic is Bedrock's (output burns
 * 5 quota tokens per token on Claude 4 class models). The simulator enforces the same quota.
 */
export const SONNET_QUOTA = { tokensPerMinute: 2_600, windowMs: 4_000 } as const;

/** The governor's rule for it: paced per team, waiting for room rather than drawing 429s. */
export const sonnetQuota: QuotaRule = { name: 'sonnet-4.5-tpm', match: { model: 'anthropic.claude-sonnet-4*' }, ...SONNET_QUOTA, shares: { per: 'team' }, onLimit: 'wait' };

/** The quotas after the run: limit per window, in use, and what the governor did. */
export function quotasTable(status: readonly QuotaStatus[]): string {
  return table(
    ['quota', 'window', 'limit', 'in use', 'paced (waited)', 'refused', '429s avoided', '429s seen'],
    status.map((s) => [s.quota, `${s.windowMs / 1000} s`, num(s.limit.tokens), num(s.inUse.tokens), num(s.counts.waited), num(s.counts.refused), num(s.counts.throttlesAvoided), num(s.counts.throttlesSeen)]),
  );
}

const BURST_WINDOW_MS = 1_000;
const BURST_MAX_TOKENS = 100;

/** A burst of `calls` Sonnet 4.5 calls at once against a simulator enforcing the quota, with the governor (`finops`) or without. */
async function burst(calls: number, quota: number, finops: BedrockFinOps | undefined): Promise<{ served: number; throttled: number; peak: number }> {
  const engine = new SimulatorEngine({ onDemandQuota: { tokensPerMinute: quota, windowMs: BURST_WINDOW_MS }, outputTokens: BURST_MAX_TOKENS });
  const client = new BedrockRuntimeClient({ region: 'us-east-1', credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' }, requestHandler: simulatorRequestHandler(engine), maxAttempts: 1 });
  if (finops !== undefined) client.middlewareStack.use(finops);
  const send = () =>
    withAttribution({ team: 'search', feature: 'intent-burst' }, () =>
      client.send(new ConverseCommand({ modelId: 'anthropic.claude-sonnet-4-5-20250929-v1:0', messages: [{ role: 'user', content: [{ text: 'Classify: waterproof trail shoes size 44' }] }], inferenceConfig: { maxTokens: BURST_MAX_TOKENS } })),
    );
  const outcomes = await Promise.allSettled(Array.from({ length: calls }, send));
  client.destroy();
  return { served: outcomes.filter((o) => o.status === 'fulfilled').length, throttled: engine.stats.throttled, peak: engine.stats.quotaPeak / quota };
}

/** The quota at work: the same burst, needing twice the quota, without the governor and with it. */
export async function quotaBurstLines(): Promise<string> {
  const perCall = 15 + BURST_MAX_TOKENS * 5;
  const calls = 40;
  const quota = (perCall * calls) / 2;
  const without = await burst(calls, quota, undefined);
  const finops = bedrockFinOps({ quotas: [{ name: 'burst', match: { model: 'anthropic.claude-sonnet-4*' }, tokensPerMinute: quota, windowMs: BURST_WINDOW_MS, onLimit: 'wait' }] });
  const paced = await burst(calls, quota, finops);
  const [s] = finops.quotas.status();
  await finops.shutdown();
  return [
    `A burst of ${calls} Sonnet 4.5 calls at once, needing twice the quota (input + maxTokens ${BURST_MAX_TOKENS} × 5 each; Bedrock's minute scaled to 1 s):`,
    `  without the governor: ${without.served} served, ${without.throttled} throttled (429 ThrottlingException)`,
    `  with the governor (onLimit 'wait'): ${paced.served} served, ${paced.throttled} throttled, ${s?.counts.waited ?? 0} paced until room returned; the quota peaked at ${Math.round(paced.peak * 100)}% of its limit`,
  ].join('\n');
}
