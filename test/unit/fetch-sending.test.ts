import { describe, expect, it } from 'vitest';
import { METERED_OPERATIONS, type OperationInfo } from '../../src/model/operations.js';
import { UNREADABLE } from '../../src/fetch/outgoing.js';
import { relationTo, sameBody, SendingScope, type Sending, type SendingCall } from '../../src/fetch/sending.js';

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

describe('SendingScope.handedBy: the call out that handed exactly these objects on', () => {
  const call: SendingCall = { info: CONVERSE, requestedModelId: ARN, modelId: ARN };
  const URL_TEXT = 'https://bedrock-runtime.us-east-1.amazonaws.com/model/x/converse';

  /** A mark whose `call` counts how often it is looked at (what a lookup examines). */
  function counted(input: unknown, init: RequestInit | undefined, reads: { n: number }): Sending {
    const mark = { input, ...(init === undefined ? {} : { init }), body: 'b' };
    Object.defineProperty(mark, 'call', { enumerable: true, get: () => (reads.n++, call) });
    return mark;
  }

  it('finds each of a thousand calls out by its init (or by its Request when it handed no init), and none after it is back', () => {
    const scope = new SendingScope();
    scope.activate();
    const reads = { n: 0 };
    const inits = Array.from({ length: 1000 }, (): RequestInit => ({}));
    const marks = inits.map((init) => counted(URL_TEXT, init, reads));
    const request = new Request(URL_TEXT, { method: 'POST' });
    const byRequest = counted(request, undefined, reads);
    const untracks = [...marks, byRequest].map((m) => scope.track(m));
    expect(inits.every((init, i) => scope.handedBy(URL_TEXT, init) === marks[i])).toBe(true);
    expect(scope.handedBy(request, undefined)).toBe(byRequest);
    // Another init, the same URL with no init, the Request with an init: no call handed those.
    expect([scope.handedBy(URL_TEXT, {}), scope.handedBy(URL_TEXT, undefined), scope.handedBy(request, inits[0])]).toEqual([undefined, undefined, undefined]);
    for (const untrack of untracks) untrack();
    expect([scope.handedBy(URL_TEXT, inits[0]), scope.handedBy(request, undefined), scope.sent.size]).toEqual([undefined, undefined, 0]);
  });

  it('looks only at the calls that handed that object: one mark read per lookup among a thousand out (each was read)', () => {
    const scope = new SendingScope();
    scope.activate();
    const reads = { n: 0 };
    const inits = Array.from({ length: 1000 }, (): RequestInit => ({}));
    for (const init of inits) scope.track(counted(URL_TEXT, init, reads));
    reads.n = 0;
    scope.handedBy(URL_TEXT, inits[999]);
    scope.handedBy(URL_TEXT, {});
    // Before: 1000 marks read to find the last one, 1000 for one no call handed. Now 1 and 0.
    expect(reads.n).toBe(1);
  });

  it('keeps finding an init two calls handed on until both are back, in either order', () => {
    for (const order of [[0, 1], [1, 0]] as const) {
      const scope = new SendingScope();
      scope.activate();
      const init: RequestInit = {};
      const marks = [{ call, input: URL_TEXT, init, body: 'a' }, { call, input: URL_TEXT, init, body: 'b' }];
      const untracks = marks.map((m) => scope.track(m));
      expect(scope.handedBy(URL_TEXT, init)).toBe(marks[0]);
      untracks[order[0]]?.();
      expect(scope.handedBy(URL_TEXT, init)).toBe(marks[order[1]]);
      untracks[order[1]]?.();
      expect(scope.handedBy(URL_TEXT, init)).toBeUndefined();
      // A second untrack changes nothing.
      untracks[order[0]]?.();
      expect(scope.handedBy(URL_TEXT, init)).toBeUndefined();
    }
  });

  it('notes nothing before a metered fetch is handed out', () => {
    const scope = new SendingScope();
    const init: RequestInit = {};
    scope.track({ call, input: URL_TEXT, init });
    expect(scope.handedBy(URL_TEXT, init)).toBeUndefined();
  });
});
