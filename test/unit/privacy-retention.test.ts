import { diag } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { attributionFromData } from '../../src/attribution/normalize.js';
import { OnceReporter } from '../../src/diagnostics.js';
import { CallShape } from '../../src/metrics/call-shape.js';
import { errorName } from '../../src/errors/error-name.js';
import { exposeGc } from '../helpers/adversary.js';

/**
 * Bounded means bounded in memory too. V8 keeps a cut string (`s.slice(0, 128)`) as a view of the
 * whole it was cut from, so a short value kept for the life of the process (an interned
 * attribution, a remembered diagnostic key, an error name in a metric series) can hold a megabyte.
 * Each test keeps what the library returns and measures the heap it holds after a collection.
 */
const gc = exposeGc();

/** Megabytes of heap still held once `run` is done and everything it did not keep was collected. */
function retainedMb(run: () => unknown): number {
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept = run();
  gc();
  const held = process.memoryUsage().heapUsed - before;
  expect(kept).toBeDefined();
  return held / 1e6;
}

/** `n` distinct strings of `size` characters, each its own allocation (as JSON.parse makes a request's). */
const distinct = (i: number, size: number): string => (JSON.parse(`"${i}:${'x'.repeat(size)}"`) as string);

describe('what is kept of untrusted strings holds no more than what is kept', () => {
  it('1,000 attributions whose values were cut from 100,000 characters to 128 hold about 1,000 × 128 characters', () => {
    const held = retainedMb(() => Array.from({ length: 1_000 }, (_, i) => attributionFromData({ team: distinct(i, 100_000) })));
    // Before: 100.5 MB (each value a view of the 100,000 characters it was cut from).
    expect(held).toBeLessThan(15);
  });

  it('2,000 attribution keys of 50,000 characters (all dropped) leave nothing behind: not in the key cache, not in the reporter', () => {
    diag.disable();
    // Given as Maps: an object's property names would be held a while by the engine itself (its shape transitions).
    const held = retainedMb(() => {
      for (let i = 0; i < 2_000; i++) attributionFromData(new Map([[distinct(i, 50_000), 'v']]));
      return true;
    });
    // Before: 100 MB (normalizeKey cached up to 4,096 keys of any length, and the reporter's remembered
    // keys, `key.slice(0, 64)`, were views of the whole keys).
    expect(held).toBeLessThan(15);
  });

  it('a once-reporter given 1,000 keys cut from 100,000-character ids holds about 1,000 short keys', () => {
    const reporter = new OnceReporter();
    diag.disable();
    const held = retainedMb(() => {
      for (let i = 0; i < 1_000; i++) reporter.warn(`price:${distinct(i, 100_000).slice(0, 200)}`, 'no price known');
      return reporter;
    });
    // Before: 100.5 MB.
    expect(held).toBeLessThan(15);
  });

  it('1,000 error names cut from 100,000 characters to 64 hold about 1,000 × 64 characters', () => {
    const held = retainedMb(() => Array.from({ length: 1_000 }, (_, i) => errorName({ name: `E${distinct(i, 100_000).replace(':', '')}` })));
    // Before: 100.5 MB.
    expect(held).toBeLessThan(15);
  });

  it('a call shape keeping 64 error types, each a 64-character view of a 1,000,000-character header, holds 64 short names', () => {
    const shape = new CallShape({}, {}, false, ['chat', 'm', 'm', undefined, 443]);
    // The fetch path cuts x-amzn-errortype to 64 characters: a view of the header a base fetch returned.
    const held = retainedMb(() => {
      for (let i = 0; i < 64; i++) shape.errorAttrs(`E${distinct(i, 1_000_000).replace(':', '')}`.slice(0, 64));
      return shape;
    });
    // Before: 64.1 MB, for as long as the series lives.
    expect(held).toBeLessThan(10);
  });
});
