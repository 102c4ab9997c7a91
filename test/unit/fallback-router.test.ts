import type { InitializeHandlerArguments, InitializeHandlerOutput } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { Breakers } from '../../src/fallback/breaker.js';
import { FALLBACK_ON, FallbackSignal } from '../../src/fallback/fallback-signal.js';
import { FallbackRouter } from '../../src/fallback/router.js';
import { RoutingCounters } from '../../src/fallback/routing-counters.js';
import { fakeCall, testResolver } from '../helpers/calls.js';

const ARN = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123';
const FALLBACK = 'us.anthropic.claude-3-5-haiku-20241022-v1:0';

type Args = InitializeHandlerArguments<{ modelId: string }>;
type Out = InitializeHandlerOutput<{ $metadata: object }>;

/** A fake `next`: records the model each attempt was sent to and answers from a script. */
function fakeNext(answers: ((args: Args) => Promise<Out>)[]) {
  const sent: { modelId: string; marked: boolean }[] = [];
  let i = 0;
  const next = (args: Args): Promise<Out> => {
    sent.push({ modelId: args.input.modelId, marked: (args as unknown as Record<symbol, unknown>)[FALLBACK_ON] !== undefined });
    const answer = answers[Math.min(i++, answers.length - 1)]!;
    return answer(args);
  };
  return { next, sent };
}

const ok = (): Promise<Out> => Promise.resolve({ output: { $metadata: {} }, response: {} });
const throttled = (): Promise<Out> => Promise.reject(new FallbackSignal(new Error('429'), 'ThrottlingException'));
const failed = (): Promise<Out> => Promise.reject(Object.assign(new Error('bad'), { name: 'ValidationException' }));

function router(cooldownMs = 10_000) {
  const counters = new RoutingCounters();
  const r = new FallbackRouter(new Map([[ARN, { model: 'anthropic.claude-3-5-haiku-20241022-v1:0', fallback: FALLBACK }]]), new Breakers(cooldownMs), new Set(['ThrottlingException']), (id, now) => testResolver.resolve(id, now), counters);
  return { r, counters };
}

describe('the fallback router (fake next)', () => {
  it('sends a call to an on-demand model as it came, with no routing at all', async () => {
    const { r } = router();
    const { next, sent } = fakeNext([ok]);
    const call = fakeCall('us.amazon.nova-lite-v1:0');
    await r.send(call, { input: { modelId: call.requestedModelId } }, next);
    expect(sent).toEqual([{ modelId: 'us.amazon.nova-lite-v1:0', marked: false }]);
    expect(call.fallback).toBeUndefined();
  });

  it('marks the provisioned attempt, and on its throttle re-issues once on demand, recording what served it', async () => {
    const { r, counters } = router();
    const { next, sent } = fakeNext([throttled, ok]);
    const call = fakeCall(ARN);
    await r.send(call, { input: { modelId: ARN } }, next);
    expect(sent).toEqual([
      { modelId: ARN, marked: true },
      { modelId: FALLBACK, marked: false },
    ]);
    expect(call).toMatchObject({ requestedModelId: ARN, modelId: FALLBACK, fallback: { from: ARN, reason: 'ThrottlingException' } });
    expect(call.model.baseModelId).toBe('anthropic.claude-3-5-haiku-20241022-v1:0');
    expect([...counters.fallbacks.values()]).toEqual([{ from: ARN, to: FALLBACK, reason: 'ThrottlingException', count: 1 }]);
  });

  it('goes straight to the fallback while the breaker is open, then lets one probe through after the cooldown', async () => {
    const { r } = router(30);
    const first = fakeNext([throttled, ok]);
    await r.send(fakeCall(ARN), { input: { modelId: ARN } }, first.next);
    const during = fakeNext([ok]);
    const call = fakeCall(ARN);
    await r.send(call, { input: { modelId: ARN } }, during.next);
    expect(during.sent).toEqual([{ modelId: FALLBACK, marked: false }]);
    expect(call.fallback).toEqual({ from: ARN, reason: 'breaker-open' });
    await new Promise((resolve) => setTimeout(resolve, 40));
    const probe = fakeNext([ok]);
    await r.send(fakeCall(ARN), { input: { modelId: ARN } }, probe.next);
    expect(probe.sent).toEqual([{ modelId: ARN, marked: true }]);
  });

  it('passes any other error of the provisioned attempt to the caller, without a fallback', async () => {
    const { r } = router();
    const { next, sent } = fakeNext([failed]);
    const call = fakeCall(ARN);
    await expect(r.send(call, { input: { modelId: ARN } }, next)).rejects.toMatchObject({ name: 'ValidationException' });
    expect(sent).toHaveLength(1);
    expect(call.fallback).toBeUndefined();
  });
});
