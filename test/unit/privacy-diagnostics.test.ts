import { diag, DiagLogLevel } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeError, OnceReporter } from '../../src/diagnostics.js';
import { errorName } from '../../src/errors/error-name.js';
import { ConfigurationError } from '../../src/index.js';

const logged: string[] = [];
beforeEach(() => {
  const log = (m: string): void => {
    if (m.startsWith('bedrock-finops')) logged.push(m);
  };
  diag.setLogger({ error: log, warn: log, info: log, debug: log, verbose: log }, { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true });
});
afterEach(() => {
  diag.disable();
  logged.length = 0;
});

/** Errors a user's onUsage, estimator or store may throw, and what reading them does. */
const odd: [string, () => unknown][] = [
  ['a number for a name', () => Object.assign(new Error('x'), { name: 42 })],
  ['an undefined name', () => Object.assign(new Error('x'), { name: undefined })],
  ['a name getter that throws', () => Object.defineProperty(new Error('x'), 'name', { get: () => { throw new Error('name getter'); } })],
  ['a code getter that throws', () => Object.defineProperty(new Error('x'), 'code', { get: () => { throw new Error('code getter'); } })],
  [
    'a Proxy whose every trap throws',
    () =>
      new Proxy(new Error('x'), {
        get: () => {
          throw new Error('get');
        },
        getPrototypeOf: () => {
          throw new Error('getPrototypeOf');
        },
      }),
  ],
  [
    'a revoked Proxy',
    () => {
      const { proxy, revoke } = Proxy.revocable(new Error('x'), {});
      revoke();
      return proxy;
    },
  ],
];

describe('describing an error for a diagnostic never throws', () => {
  for (const [what, make] of odd)
    it(`an Error with ${what} is described without throwing, and the report is logged`, () => {
      // Before: a number or undefined name threw "error.name.slice is not a function"; the getters and Proxies threw their own errors.
      expect(() => describeError(make())).not.toThrow();
      new OnceReporter().error('k', 'a usage sink threw', make());
      expect(logged).toHaveLength(1);
    });

  it('says the name and code of an error, the message only of this library own ones', () => {
    const system = Object.assign(new Error('connect ECONNREFUSED with MY SECRET PROMPT'), { code: 'ECONNREFUSED' });
    expect(describeError(system)).toBe(': Error (ECONNREFUSED)');
    expect(describeError(new ConfigurationError('budgets', 'must be a list'))).toBe(': ConfigurationError: bedrock-finops: invalid budgets: must be a list');
  });

  it('a name written as prose (a user error named by its message) is described as Error', () => {
    const prose = Object.assign(new Error('x'), { name: 'could not tokenize MY SECRET PROMPT' });
    expect(describeError(prose)).toBe(': Error');
  });
});

describe('error names recorded', () => {
  it.each([
    ['ThrottlingException', 'ThrottlingException'],
    ['AbortError', 'AbortError'],
    ['502', '502'],
    ['com.amazon.coral.service', 'com.amazon.coral.service'],
    ['E'.repeat(100), 'E'.repeat(64)],
    ['Refused PLEASE SUMMARISE MY SECRET MEMO', 'Error'],
    ['Validation\ud800Exception', 'Error'],
    ['Bad\u0000Name', 'Error'],
    ['', 'Error'],
  ])('%j is recorded as %j', (name, recorded) => {
    expect(errorName(Object.assign(new Error('m'), { name }))).toBe(recorded);
  });

  it('from values that are not errors, or whose name cannot be read: Error', () => {
    for (const [, make] of odd.slice(0, 3)) expect(errorName(make())).toBe('Error');
    expect(errorName(odd[4]?.[1]())).toBe('Error');
    expect(errorName('a string')).toBe('Error');
    expect(errorName(null)).toBe('Error');
  });
});

describe('the once-reporter stays small whatever ids its keys and messages quote', () => {
  it('distinct keys of 100,000 characters (a caller model id quoted in a key) are remembered as 256 characters at most each', () => {
    const reporter = new OnceReporter();
    const id = 'x'.repeat(100_000);
    for (let i = 0; i < 200; i++) reporter.warn(`price:${i}:${id}`, 'no price known');
    const seen = (reporter as unknown as { seen: Set<string> }).seen;
    // Before: 200 keys of 100,008 characters each, held for the life of the plugin (it keeps up to 1,000: 1 GB for ids of 1 MB).
    expect(Math.max(...[...seen].map((k) => k.length))).toBeLessThanOrEqual(256);
    expect(seen.size).toBe(200);
  });

  it('a message quoting 1 MB is logged cut to 1,024 characters, never inside a surrogate pair', () => {
    new OnceReporter().warn('k', `model ${'😀'.repeat(500_000)}`);
    // Before: 1,000,022 characters.
    expect(logged[0]?.length).toBeLessThanOrEqual(1_024);
    expect(logged[0]).toMatch(/^[^\ud800-\udfff]*(?:\ud83d\ude00[^\ud800-\udfff]*)*$/);
  });
});
