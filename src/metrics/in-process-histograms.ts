import type { Attributes, HrTime } from '@opentelemetry/api';
import { DURATION_BUCKETS, GEN_AI_OPERATION_DURATION, GEN_AI_TIME_TO_FIRST_CHUNK, GEN_AI_TOKEN_USAGE, TOKEN_BUCKETS, UNIT_SECONDS, UNIT_TOKEN } from './semconv.js';

/** The GenAI histograms, by index. */
export const TOKEN_USAGE = 0;
export const DURATION = 1;
export const TIME_TO_FIRST_CHUNK = 2;
export type HistogramIndex = typeof TOKEN_USAGE | typeof DURATION | typeof TIME_TO_FIRST_CHUNK;

export const HISTOGRAMS: readonly { readonly name: string; readonly description: string; readonly unit: string; readonly boundaries: readonly number[] }[] = [
  { name: GEN_AI_TOKEN_USAGE, description: 'Number of input and output tokens used.', unit: UNIT_TOKEN, boundaries: TOKEN_BUCKETS },
  { name: GEN_AI_OPERATION_DURATION, description: 'GenAI operation duration.', unit: UNIT_SECONDS, boundaries: DURATION_BUCKETS },
  { name: GEN_AI_TIME_TO_FIRST_CHUNK, description: 'Time to receive the first chunk of a streaming response.', unit: UNIT_SECONDS, boundaries: DURATION_BUCKETS },
];

/** One histogram series: explicit-bucket counts, sum, count, min and max, as the SDK aggregates them. */
export class HistogramSeries {
  readonly counts: number[];
  sum = 0;
  count = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  constructor(private readonly boundaries: readonly number[]) {
    this.counts = new Array<number>(boundaries.length + 1).fill(0);
  }

  record(value: number): void {
    // As the SDK: no NaN (it would make the sum NaN for good) and no negatives; nor infinities (the same for the sum).
    if (!(value >= 0 && value < Number.POSITIVE_INFINITY)) return;
    // Bucket i holds (boundaries[i-1], boundaries[i]], as the SDK's explicit-bucket aggregation does.
    let i = 0;
    const b = this.boundaries;
    while (i < b.length && value > (b[i] as number)) i++;
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.sum += value;
    this.count++;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }
}

function hrTime(ms: number): HrTime {
  return [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];
}

interface SeriesEntry {
  readonly attributes: Attributes;
  readonly series: HistogramSeries;
}

/**
 * A name for what an attribute set holds, whatever object holds it: its entries sorted by key, as
 * JSON (values are untrusted attribution: JSON escapes every separator, so two different sets
 * never share a name, and a number stays apart from the string of its digits).
 */
function contentKey(attributes: Attributes): string {
  const entries: [string, unknown][] = [];
  for (const k of Object.keys(attributes).sort()) entries.push([k, attributes[k]]);
  return JSON.stringify(entries);
}

/**
 * The GenAI histograms aggregated in this process. A series is one attribute set, by content: two
 * call shapes whose histogram attributes are alike (`histogramAttribution: false` leaves the
 * attribution out, so shapes that differ only by team share their histograms) record into one
 * series, so no data point is exported twice. A shape looks its series up once and keeps it, so
 * recording is a few additions: no attribute hashing per record, which is what an SDK instrument
 * spends most of its time on. Exported, cumulative, by the plugin's `metricProducer`.
 */
export class InProcessHistograms {
  /** Per histogram: the series by attribute content, each with the attributes it exports. */
  private readonly series: Map<string, SeriesEntry>[] = HISTOGRAMS.map(() => new Map<string, SeriesEntry>());
  /** Per histogram: the series an attribute-set object was last found in (a shape's objects live as long as the shape). */
  private readonly byObject: WeakMap<Attributes, HistogramSeries>[] = HISTOGRAMS.map(() => new WeakMap<Attributes, HistogramSeries>());
  private readonly startMs = Date.now();

  record(index: HistogramIndex, value: number, attributes: Attributes): void {
    this.seriesOf(index, attributes).record(value);
  }

  /** The series of histogram `index` for `attributes` (made on first use): a caller that keeps it records without a lookup. */
  seriesOf(index: HistogramIndex, attributes: Attributes): HistogramSeries {
    const objects = this.byObject[index] as WeakMap<Attributes, HistogramSeries>;
    const known = objects.get(attributes);
    if (known !== undefined) return known;
    const map = this.series[index] as Map<string, SeriesEntry>;
    const key = contentKey(attributes);
    let entry = map.get(key);
    if (entry === undefined) {
      entry = { attributes, series: new HistogramSeries((HISTOGRAMS[index] as { boundaries: readonly number[] }).boundaries) };
      map.set(key, entry);
    }
    objects.set(attributes, entry.series);
    return entry.series;
  }

  /** The histograms as the OpenTelemetry SDK's `MetricData` (cumulative, explicit buckets). */
  metricData(): object[] {
    const start = hrTime(this.startMs);
    const end = hrTime(Date.now());
    const out: object[] = [];
    HISTOGRAMS.forEach((h, i) => {
      const map = this.series[i] as Map<string, SeriesEntry>;
      if (map.size === 0) return;
      out.push({
        descriptor: { name: h.name, description: h.description, unit: h.unit, valueType: 1 /* ValueType.DOUBLE */ },
        aggregationTemporality: 1 /* AggregationTemporality.CUMULATIVE */,
        dataPointType: 0 /* DataPointType.HISTOGRAM */,
        dataPoints: [...map.values()].map(({ attributes, series: s }) => ({
          attributes,
          startTime: start,
          endTime: end,
          value: { buckets: { boundaries: [...h.boundaries], counts: [...s.counts] }, sum: s.sum, count: s.count, min: s.min, max: s.max },
        })),
      });
    });
    return out;
  }
}
