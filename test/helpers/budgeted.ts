import type { SetupServerApi } from 'msw/node';
import { bedrockFinOps, type BedrockFinOpsOptions, type UsageRecord } from '../../src/index.js';
import { converseReply, on, tick } from './bedrock.js';

/**
 * A plugin that records every call and charges one roomy day budget `b` (each call estimated at
 * 500 input tokens), and what that budget holds: the usual harness of the billing-edge tests.
 */
export function budgeted(options: BedrockFinOpsOptions = {}) {
  const records: UsageRecord[] = [];
  const finops = bedrockFinOps({ estimator: () => 500, budgets: [{ name: 'b', limit: { tokens: 1e9 }, window: 'day' }], ...options, onUsage: (r) => records.push(r) });
  const budget = async () => {
    const [status] = await finops.budgets.status();
    return { used: status?.used.tokens ?? 0, reserved: status?.reserved.tokens ?? 0 };
  };
  return { finops, records, budget };
}

/** Answers each Converse with `usage` and counts the requests that reached Bedrock. */
export function countedConverse(server: SetupServerApi, usage: { inputTokens: number; outputTokens: number }): { requests: number } {
  const seen = { requests: 0 };
  server.use(
    on('converse', () => {
      seen.requests++;
      return converseReply(usage, 'from bedrock');
    }),
  );
  return seen;
}

/** Waits (up to a second) until `done()` holds. */
export async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await tick(5);
}
