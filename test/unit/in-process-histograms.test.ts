import { describe, expect, it } from 'vitest';
import { DURATION, InProcessHistograms, TOKEN_USAGE } from '../../src/metrics/in-process-histograms.js';

/** The data points one histogram exports: attributes and count. */
function points(h: InProcessHistograms, name: string): { attributes: unknown; count: number }[] {
  const metric = h.metricData().find((m) => (m as { descriptor: { name: string } }).descriptor.name === name) as
    | { dataPoints: { attributes: unknown; value: { count: number } }[] }
    | undefined;
  return (metric?.dataPoints ?? []).map((p) => ({ attributes: p.attributes, count: p.value.count }));
}

describe('InProcessHistograms: one series per attribute set, by content', () => {
  it('two objects with the same attributes (in any key order) record into one series', () => {
    const h = new InProcessHistograms();
    h.record(DURATION, 0.1, { 'gen_ai.operation.name': 'chat', team: 'a' });
    h.record(DURATION, 0.2, { team: 'a', 'gen_ai.operation.name': 'chat' });
    expect(h.seriesOf(DURATION, { team: 'a', 'gen_ai.operation.name': 'chat' })).toBe(h.seriesOf(DURATION, { 'gen_ai.operation.name': 'chat', team: 'a' }));
    expect(points(h, 'gen_ai.client.operation.duration')).toEqual([{ attributes: { 'gen_ai.operation.name': 'chat', team: 'a' }, count: 2 }]);
  });

  it('hostile attribution values cannot merge two sets: separators inside a value, a number against its digits', () => {
    const h = new InProcessHistograms();
    // Under a key built by joining with U+0001 / U+0002, these two sets read alike.
    const forged = { a: 'x\u0002b\u0001string\u0001y' };
    const real = { a: 'x', b: 'y' };
    h.record(TOKEN_USAGE, 5, real);
    h.record(TOKEN_USAGE, 7, forged);
    expect(h.seriesOf(TOKEN_USAGE, forged)).not.toBe(h.seriesOf(TOKEN_USAGE, real));
    h.record(TOKEN_USAGE, 1, { port: 443 });
    h.record(TOKEN_USAGE, 1, { port: '443' });
    const got = points(h, 'gen_ai.client.token.usage');
    expect(got).toHaveLength(4);
    expect(got).toEqual(
      expect.arrayContaining([
        { attributes: real, count: 1 },
        { attributes: forged, count: 1 },
        { attributes: { port: 443 }, count: 1 },
        { attributes: { port: '443' }, count: 1 },
      ]),
    );
  });

  it('each histogram keeps its own series for the same attributes', () => {
    const h = new InProcessHistograms();
    const attrs = { team: 'a' };
    h.record(TOKEN_USAGE, 10, attrs);
    h.record(DURATION, 0.5, attrs);
    expect(h.seriesOf(TOKEN_USAGE, attrs)).not.toBe(h.seriesOf(DURATION, attrs));
    expect(points(h, 'gen_ai.client.token.usage')).toEqual([{ attributes: attrs, count: 1 }]);
    expect(points(h, 'gen_ai.client.operation.duration')).toEqual([{ attributes: attrs, count: 1 }]);
  });
});
