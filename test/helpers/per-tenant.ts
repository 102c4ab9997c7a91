import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import type { SetupServerApi } from 'msw/node';
import { attribute, bedrockFinOps, isBudgetExceededError, withAttribution } from '../../src/index.js';
import { converseReply, makeClient, on, recorder, say } from './bedrock.js';

const MODEL = 'amazon.nova-micro-v1:0';

/**
 * One counter per tenant_id, 50 tokens a day. Every call reserves 20 (10 estimated input, a 10
 * output cap) and uses 20 (10 + 10): two calls per tenant are admitted, the third is refused.
 * `send` makes a call with `attrs` as its scope or its per-command attribution and notes
 * `sent` or `refused as <counter key>` in `outcomes`; `used` is each counter's tokens used.
 */
export function perTenant(server: SetupServerApi) {
  server.use(on('converse', () => converseReply({ inputTokens: 10, outputTokens: 10 })));
  const { records, onUsage } = recorder();
  const finops = bedrockFinOps({ onUsage, estimator: () => 10, budgets: [{ name: 'per-tenant', per: 'tenant_id', limit: { tokens: 50 }, window: 'day' }] });
  const client = makeClient(finops, { maxAttempts: 1 });
  const outcomes: string[] = [];
  const send = (attrs: Readonly<Record<string, string>> | ReadonlyMap<string, string>, how: 'scope' | 'command' = 'scope'): Promise<void> => {
    const call = how === 'scope' ? withAttribution(attrs, () => client.send(new ConverseCommand(say('hi', MODEL, 10)))) : client.send(attribute(new ConverseCommand(say('hi', MODEL, 10)), attrs));
    return call.then(
      () => void outcomes.push('sent'),
      (e: unknown) => {
        if (!isBudgetExceededError(e)) throw e;
        outcomes.push(`refused as ${e.key}`);
      },
    );
  };
  const used = async () => (await finops.budgets.status()).map((s) => [s.key, s.used.tokens]);
  return { finops, records, send, outcomes, used };
}
