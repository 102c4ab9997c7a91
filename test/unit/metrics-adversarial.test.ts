import { describe, expect, it } from 'vitest';
import { DURATION, InProcessHistograms, TOKEN_USAGE } from '../../src/metrics/in-process-histograms.js';

/** The one data point of histogram `name` (producer mode), as exported. */
function point(h: InProcessHistograms, name: string) {
  const metric = h.metricData().find((m) => (m as { descriptor: { name: string } }).descriptor.name === name) as
    | { dataPoints: { value: { buckets: { counts: number[] }; sum: number; count: number; min: number; max: number } }[] }
    | undefined;
  return metric?.dataPoints[0]?.value;
}

describe('in-process histograms (genAiHistograms: producer) against absurd values', () => {
  it('drop NaN, negative and infinite values as the SDK drops NaN and negatives: one NaN made the sum NaN for the life of the process', () => {
    const h = new InProcessHistograms();
    const attrs = { 'gen_ai.operation.name': 'chat' };
    h.record(DURATION, 0.5, attrs);
    for (const v of [Number.NaN, -1, -0.001, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) h.record(DURATION, v, attrs);
    h.record(DURATION, 1, attrs);
    // Recorded: 0.5 and 1 only.
    expect(point(h, 'gen_ai.client.operation.duration')).toMatchObject({ sum: 1.5, count: 2, min: 0.5, max: 1 });
    expect(point(h, 'gen_ai.client.operation.duration')?.buckets.counts.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('put a value equal to a bucket bound in that bucket (upper bound inclusive, as the SDK), 0 in the first and past the last bound in the overflow bucket', () => {
    const h = new InProcessHistograms();
    const attrs = { 'gen_ai.token.type': 'input' };
    for (const v of [0, 1, 4, 67108864, 67108865]) h.record(TOKEN_USAGE, v, attrs);
    const counts = point(h, 'gen_ai.client.token.usage')?.buckets.counts ?? [];
    expect(counts[0]).toBe(2);
    expect(counts[1]).toBe(1);
    expect(counts[13]).toBe(1);
    expect(counts[14]).toBe(1);
  });
});
