import type { Call } from '../../src/call.js';
import { OnceReporter } from '../../src/diagnostics.js';
import { ModelResolver } from '../../src/model/model-resolver.js';
import { METERED_OPERATIONS } from '../../src/model/operations.js';
import { Pricer } from '../../src/pricing/pricer.js';
import { DEFAULT_SERVICE_TIER_MULTIPLIERS } from '../../src/pricing/index.js';
import type { Attribution } from '../../src/record.js';

/** A pricer with the bundled catalog and no overrides. */
export function testPricer(): Pricer {
  return new Pricer({ overrides: new Map(), discount: 0, serviceTiers: DEFAULT_SERVICE_TIER_MULTIPLIERS, reporter: new OnceReporter() });
}

const pricer = testPricer();
export const testResolver = new ModelResolver(new Map<string, string>(), (pricedAs, target, at) => pricer.rateCard(pricedAs, target, at));

/** A call as `begin` makes it, for unit tests of the phases after it. */
export function fakeCall(modelId = 'us.amazon.nova-lite-v1:0', attribution: Attribution = {}, command: keyof typeof METERED_OPERATIONS = 'ConverseCommand'): Call {
  const now = Date.now();
  return {
    info: METERED_OPERATIONS[command]!,
    requestedModelId: modelId,
    attribution,
    startedAt: now,
    t0: performance.now(),
    modelId,
    model: testResolver.resolve(modelId, now),
    fallback: undefined,
    serverAddress: undefined,
    serverPort: 443,
    requestId: undefined,
    serviceTier: undefined,
    performanceLatency: undefined,
    firstEventAt: -1,
    attempt: 'none',
    settled: false,
    maxTokensOf: undefined,
    maxTokens: undefined,
  };
}
