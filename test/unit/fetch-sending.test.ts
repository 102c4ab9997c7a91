import { describe, expect, it } from 'vitest';
import { METERED_OPERATIONS, type OperationInfo } from '../../src/model/operations.js';
import { UNREADABLE } from '../../src/fetch/outgoing.js';
import { relationTo, sameBody, SendingScope, type SendingCall } from '../../src/fetch/sending.js';

const CONVERSE = METERED_OPERATIONS.ConverseCommand as OperationInfo;
const ARN = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123def456';
const FALLBACK = 'us.anthropic.claude-3-haiku-20240307-v1:0';

describe('relationTo: a Bedrock request made below a call being sent', () => {
  const call: SendingCall = { info: CONVERSE, requestedModelId: ARN, modelId: ARN };

  it('takes every request for the call’s own when nothing is known of the call (the SDK path marks it so)', () => {
    expect(relationTo({}, 'InvokeModel', 'other-model')).toBe('own');
  });

  it('tells another operation or another model apart: another call', () => {
    expect(relationTo({ call, body: 'x' }, 'InvokeModel', ARN)).toBe('other');
    expect(relationTo({ call, body: 'x' }, 'Converse', FALLBACK)).toBe('other');
    expect(relationTo({ call }, 'Converse', FALLBACK)).toBe('other');
  });

  it('reads the model being sent live: after a fallback the fallback is the call’s own, and so is the model asked for', () => {
    const moving = { info: CONVERSE, requestedModelId: ARN, modelId: ARN };
    const sending = { call: moving, body: 'x' };
    moving.modelId = FALLBACK;
    expect(relationTo(sending, 'Converse', FALLBACK)).toBe('body');
    expect(relationTo(sending, 'Converse', ARN)).toBe('body');
  });

  it('compares bodies only when the body sent is known: absent (an SDK call) or unreadable, the same operation and model are its own', () => {
    expect(relationTo({ call, body: 'x' }, 'Converse', ARN)).toBe('body');
    expect(relationTo({ call, body: undefined }, 'Converse', ARN)).toBe('body');
    expect(relationTo({ call }, 'Converse', ARN)).toBe('own');
    expect(relationTo({ call, body: UNREADABLE }, 'Converse', ARN)).toBe('own');
  });
});

describe('sameBody', () => {
  const bytes = (s: string) => new TextEncoder().encode(s);

  it('compares strings and bytes by their UTF-8 bytes; none is the same as empty', () => {
    expect(sameBody('{"a":"é"}', bytes('{"a":"é"}'))).toBe(true);
    expect(sameBody(bytes('abc'), bytes('abc'))).toBe(true);
    expect(sameBody(undefined, '')).toBe(true);
    expect(sameBody(undefined, new Uint8Array(0))).toBe(true);
  });

  it('tells bodies of another length or another byte apart', () => {
    expect(sameBody('abc', 'abd')).toBe(false);
    expect(sameBody(bytes('abc'), bytes('abcd'))).toBe(false);
    expect(sameBody(bytes('abc'), 'abd')).toBe(false);
    expect(sameBody(undefined, 'a')).toBe(false);
  });
});

describe('SendingScope', () => {
  it('marks nothing until a metered fetch is handed out, then what run() was given, nested runs inner first', async () => {
    const scope = new SendingScope();
    const call: SendingCall = { info: CONVERSE, requestedModelId: ARN, modelId: ARN };
    expect(scope.run(() => scope.current)).toBeUndefined();
    scope.activate();
    expect(scope.current).toBeUndefined();
    const inner = { call, body: 'inner' };
    const seen = await scope.run(async () => {
      await Promise.resolve();
      const outer = scope.current;
      const nested = await scope.run(() => Promise.resolve(scope.current), inner);
      return [outer, nested, scope.current];
    });
    expect(seen).toEqual([{}, inner, {}]);
    expect(scope.current).toBeUndefined();
  });
});
