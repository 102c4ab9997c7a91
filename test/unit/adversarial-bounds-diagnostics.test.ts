import { describe, expect, it } from 'vitest';
import { describeError } from '../../src/diagnostics.js';

// What a diagnostic says of an error's code: an SDK exception carries the fields of the error body it came with, so
// a gateway answering { "code": "<the prompt>" } put the prompt's first 32 characters in the diag log.

const PROMPT = 'PLEASE SUMMARISE MY SECRET MERGER MEMO';
const withCode = (code: unknown) => Object.assign(new Error('message not logged'), { code });

describe('describeError and an error code', () => {
  it('says a code only if it looks like one (before: the first 32 characters of any string)', () => {
    expect(describeError(withCode(PROMPT))).toBe(': Error');
    expect(describeError(withCode('r\ud800'))).toBe(': Error');
    expect(describeError(withCode(''))).toBe(': Error');
  });

  it('says the codes Node, undici and the AWS SDK give, cut to 32 characters (guard)', () => {
    expect(describeError(withCode('ECONNRESET'))).toBe(': Error (ECONNRESET)');
    expect(describeError(withCode('UND_ERR_RESPONSE_STATUS_CODE'))).toBe(': Error (UND_ERR_RESPONSE_STATUS_CODE)');
    expect(describeError(Object.assign(new TypeError('x'), { code: 'ERR_INVALID_URL' }))).toBe(': TypeError (ERR_INVALID_URL)');
    expect(describeError(withCode(`E${'X'.repeat(100)}`))).toBe(`: Error (E${'X'.repeat(31)})`);
    expect(describeError(withCode(42))).toBe(': Error');
  });
});
