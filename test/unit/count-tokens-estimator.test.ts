import { describe, expect, it, vi } from 'vitest';

// An SDK from before CountTokens (< 3.872.0): the module exists, the command does not.
vi.mock('@aws-sdk/client-bedrock-runtime', () => ({ ServiceInputTypes: undefined }));

const request = { operation: 'Converse' as const, modelId: 'us.amazon.nova-lite-v1:0', baseModelId: 'amazon.nova-lite-v1:0', input: { messages: [{ role: 'user', content: [{ text: 'hi' }] }] } };

describe('the count-tokens estimator with an SDK that has no CountTokensCommand', () => {
  it('lets the whole library load: nothing needs CountTokensCommand at import time', async () => {
    const root = await import('../../src/index.js');
    const budgets = await import('../../src/budgets/index.js');
    expect(typeof root.bedrockFinOps).toBe('function');
    expect(typeof budgets.MemoryBudgetStore).toBe('function');
  });

  it('rejects with a ConfigurationError naming the minimum SDK version, sending nothing', async () => {
    const { countTokensEstimator, COUNT_TOKENS_MIN_SDK_VERSION } = await import('../../src/budgets/count-tokens-estimator.js');
    const { OnceReporter } = await import('../../src/diagnostics.js');
    const { isConfigurationError } = await import('../../src/errors/configuration-error.js');
    const send = vi.fn();
    const estimate = countTokensEstimator({ send }, new OnceReporter());
    const error: unknown = await Promise.resolve(estimate(request)).catch((e: unknown) => e);
    expect(isConfigurationError(error)).toBe(true);
    expect((error as Error).message).toContain(`@aws-sdk/client-bedrock-runtime >= ${COUNT_TOKENS_MIN_SDK_VERSION}`);
    expect(COUNT_TOKENS_MIN_SDK_VERSION).toBe('3.872.0');
    expect(send).not.toHaveBeenCalled();
  });

  it('still estimates calls it cannot count (no input) with the heuristic, without loading the command', async () => {
    const { countTokensEstimator } = await import('../../src/budgets/count-tokens-estimator.js');
    const { OnceReporter } = await import('../../src/diagnostics.js');
    const estimate = countTokensEstimator({ send: vi.fn() }, new OnceReporter());
    expect(await estimate({ ...request, input: undefined })).toBeGreaterThanOrEqual(0);
  });
});
