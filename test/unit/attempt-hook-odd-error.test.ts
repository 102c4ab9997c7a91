import type { FinalizeHandlerArguments } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { fallbackAttemptMiddleware, FALLBACK_ON } from '../../src/fallback/fallback-signal.js';

// The per-attempt hook reads a failed attempt's name (to count throttles and to spill). An error
// from a user's request handler or middleware below it may carry a `name` getter that throws: the
// hook must pass that very error on (a retry strategy above it decides what to do with it), never
// replace it with the getter's.
describe('the per-attempt hook and an error whose name getter throws', () => {
  const hostile = (): Error =>
    Object.defineProperty(new Error('x'), 'name', {
      get: () => {
        throw new Error('name getter');
      },
    });

  it('rejects with the very error the attempt failed with, counting no throttle', async () => {
    const throttles: string[] = [];
    const error = hostile();
    const handler = fallbackAttemptMiddleware(1, (model, name) => throttles.push(`${model}:${name}`))(() => Promise.reject(error), {});
    const args = { input: { modelId: 'm' }, request: {} } as FinalizeHandlerArguments<object>;
    await expect(handler(args)).rejects.toBe(error);
    expect(throttles).toEqual([]);
  });

  it('on a provisioned attempt with a fallback too: the error is passed on, not turned into a fallback signal', async () => {
    const error = hostile();
    const handler = fallbackAttemptMiddleware(1, () => undefined)(() => Promise.reject(error), {});
    const args = { input: { modelId: 'arn:aws:bedrock:us-east-1:1:provisioned-model/x' }, request: {}, [FALLBACK_ON]: new Set(['ThrottlingException']) } as unknown as FinalizeHandlerArguments<object>;
    await expect(handler(args)).rejects.toBe(error);
  });

  it('a throttle with a plain name is still counted and signalled (the guard reads names as before)', async () => {
    const throttles: string[] = [];
    const error = Object.assign(new Error('slow down'), { name: 'ThrottlingException' });
    const handler = fallbackAttemptMiddleware(1, (model, name) => throttles.push(`${model}:${name}`))(() => Promise.reject(error), {});
    const args = { input: { modelId: 'm' }, request: {}, [FALLBACK_ON]: new Set(['ThrottlingException']) } as unknown as FinalizeHandlerArguments<object>;
    await expect(handler(args)).rejects.toMatchObject({ name: 'BedrockFinOpsFallbackSignal', reason: 'ThrottlingException' });
    expect(throttles).toEqual(['m:ThrottlingException']);
  });
});

describe('the count-tokens estimator and an odd CountTokens failure', () => {
  it('an Error whose name is not a string: the heuristic is used and the warning names "Error"', async () => {
    const { countTokensEstimator } = await import('../../src/budgets/count-tokens-estimator.js');
    const { OnceReporter } = await import('../../src/diagnostics.js');
    const warned: string[] = [];
    const reporter = new OnceReporter();
    reporter.warn = (_key: string, message: string) => {
      warned.push(message);
    };
    const odd = Object.assign(new Error('count tokens failed'), { name: 42 });
    const estimate = countTokensEstimator({ send: () => Promise.reject(odd) }, reporter);
    const request = { operation: 'Converse' as const, modelId: 'us.amazon.nova-lite-v1:0', baseModelId: 'amazon.nova-lite-v1:0', input: { messages: [{ role: 'user', content: [{ text: 'hi there' }] }] } };
    // Before: error.name.slice threw inside the estimator's catch (the call fell back only because admission caught it, unexplained).
    expect(await estimate(request)).toBeGreaterThan(0);
    expect(warned).toEqual([expect.stringContaining('CountTokens failed for amazon.nova-lite-v1:0 (Error); estimating with the heuristic')]);
  });
});
