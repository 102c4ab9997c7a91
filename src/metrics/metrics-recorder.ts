import { diag } from '@opentelemetry/api';
import type { Attributes, Histogram, Meter, MeterProvider, ObservableCounter, BatchObservableResult } from '@opentelemetry/api';
import type { Settlement } from '../call.js';
import { keyPart } from '../key-part.js';
import { fromNanoUsd, toNanoUsd } from '../money.js';
import { CallShape, OUTCOMES } from './call-shape.js';
import { DURATION, HISTOGRAMS, TIME_TO_FIRST_CHUNK, TOKEN_USAGE, type HistogramIndex, type InProcessHistograms } from './in-process-histograms.js';
import type { Attribution } from '../record.js';
import { CardinalityGuard } from './cardinality-guard.js';
import {
  ATTR_OPERATION_NAME,
  ATTR_OVERFLOW,
  ATTR_PROVIDER_NAME,
  ATTR_REQUEST_MODEL,
  ATTR_RESPONSE_MODEL,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  FINOPS_CALLS,
  FINOPS_COST,
  FINOPS_ON_DEMAND_EQUIVALENT,
  FINOPS_TOKENS,
  PROVIDER_AWS_BEDROCK,
  UNIT_CALL,
  UNIT_TOKEN,
  UNIT_USD,
} from './semconv.js';

interface HistogramInstruments {
  readonly tokenUsage: Histogram;
  readonly duration: Histogram;
  readonly timeToFirstChunk: Histogram;
}

function createHistograms(meter: Meter): HistogramInstruments {
  const make = (i: HistogramIndex): Histogram => {
    const h = HISTOGRAMS[i] as (typeof HISTOGRAMS)[number];
    return meter.createHistogram(h.name, { description: h.description, unit: h.unit, advice: { explicitBucketBoundaries: [...h.boundaries] } });
  };
  return { tokenUsage: make(TOKEN_USAGE), duration: make(DURATION), timeToFirstChunk: make(TIME_TO_FIRST_CHUNK) };
}

/** Distinct call shapes kept; past this, calls are counted under one overflow shape. */
const MAX_SHAPES = 5000;

type OutcomeName = (typeof OUTCOMES)[number];

/** Attribution after the cardinality guard, with a key that identifies it. */
interface SafeAttribution {
  readonly key: string;
  readonly attrs: Readonly<Record<string, string>>;
}

export interface MetricsRecorderOptions {
  readonly meterProvider: () => MeterProvider;
  readonly version: string;
  readonly maxValuesPerKey: number;
  readonly histogramAttribution: boolean;
  /** How to record the GenAI histograms: SDK instruments, in-process (for the metric producer), or not at all. */
  readonly histograms: 'instruments' | 'producer' | 'off';
  /** Where in-process histograms go (`histograms: 'producer'`). */
  readonly inProcess?: InProcessHistograms | undefined;
  /** Called once with the meter when instruments are created (to register more instruments). */
  readonly onStart?: ((meter: Meter) => void) | undefined;
}

/**
 * Turns settled records into metrics: the GenAI semantic-convention histograms (recorded per
 * call) and the `bedrock_finops.*` counters (summed in-process, observed at collection).
 */
export class MetricsRecorder {
  private readonly guard: CardinalityGuard;
  private readonly safeCache = new WeakMap<Attribution, SafeAttribution>();
  private readonly shapes = new Map<string, CallShape>();
  private overflow: CallShape | undefined;
  private instruments: Partial<HistogramInstruments> | undefined;
  private meter: Meter | undefined;
  /** Set when the meter provider failed: metrics are off, calls go on. */
  private failed = false;

  /** Where the histograms go in producer mode (`undefined` otherwise). */
  private readonly inProcess: InProcessHistograms | undefined;

  constructor(private readonly options: MetricsRecorderOptions) {
    this.guard = new CardinalityGuard(options.maxValuesPerKey);
    this.inProcess = options.histograms === 'producer' ? options.inProcess : undefined;
  }

  /** The meter, created on first use so a global MeterProvider registered after the plugin is still used. */
  getMeter(): Meter {
    this.meter ??= this.options.meterProvider().getMeter('bedrock-finops', this.options.version);
    return this.meter;
  }

  private ensureInstruments(): NonNullable<MetricsRecorder['instruments']> {
    if (this.instruments !== undefined) return this.instruments;
    const meter = this.getMeter();
    // The GenAI histograms are SDK instruments only in 'instruments' mode (in-process otherwise).
    const instruments = this.options.histograms === 'instruments' ? createHistograms(meter) : {};
    const tokens = meter.createObservableCounter(FINOPS_TOKENS, {
      description: 'Billed tokens by type (input excludes cache reads and writes).',
      unit: UNIT_TOKEN,
    });
    const calls = meter.createObservableCounter(FINOPS_CALLS, { description: 'Metered Bedrock calls by outcome.', unit: UNIT_CALL });
    const cost = meter.createObservableCounter(FINOPS_COST, { description: 'Cost of Bedrock calls in USD.', unit: UNIT_USD });
    const onDemand = meter.createObservableCounter(FINOPS_ON_DEMAND_EQUIVALENT, {
      description: 'What provisioned-throughput calls would have cost on demand, in USD.',
      unit: UNIT_USD,
    });
    meter.addBatchObservableCallback((result) => {
      this.observe(result, tokens, calls, cost, onDemand);
    }, [tokens, calls, cost, onDemand]);
    this.options.onStart?.(meter);
    this.instruments = instruments;
    return instruments;
  }

  private observe(result: BatchObservableResult, tokens: ObservableCounter, calls: ObservableCounter, cost: ObservableCounter, onDemand: ObservableCounter): void {
    const each = (shape: CallShape): void => {
      for (let i = 0; i < 4; i++) {
        const attrs = shape.tokenAttrs[i];
        if (attrs !== undefined && shape.tokens[i] !== 0) result.observe(tokens, shape.tokens[i] ?? 0, attrs);
      }
      for (let i = 0; i < 3; i++) {
        const attrs = shape.callAttrs[i];
        if (attrs !== undefined && shape.calls[i] !== 0) result.observe(calls, shape.calls[i] ?? 0, attrs);
      }
      if (shape.hasCost) result.observe(cost, fromNanoUsd(shape.costNano), shape.finops);
      if (shape.hasOnDemandEquivalent) result.observe(onDemand, fromNanoUsd(shape.onDemandEquivalentNano), shape.finops);
    };
    for (const shape of this.shapes.values()) each(shape);
    if (this.overflow !== undefined) each(this.overflow);
  }

  /** Creates the instruments now (else at the first call); a provider that throws turns metrics off, reported once, calls unaffected. */
  start(): boolean {
    if (this.failed) return false;
    if (this.instruments !== undefined) return true;
    try {
      this.ensureInstruments();
      return true;
    } catch (error) {
      this.failed = true;
      diag.error(`bedrock-finops: metrics are off: the MeterProvider failed: ${error instanceof Error ? error.message : String(error)}`);
      return false;
    }
  }

  private safeAttribution(attribution: Attribution): SafeAttribution {
    let safe = this.safeCache.get(attribution);
    if (safe !== undefined) return safe;
    let key = '';
    const attrs: Record<string, string> = {};
    // Sorted: one attribution in two key orders must be one shape (two would be two observations of one series: the SDK keeps the last).
    for (const k of Object.keys(attribution).sort()) {
      const v = this.guard.safe(k, attribution[k] ?? '');
      attrs[k] = v;
      // Length-prefixed: a value (untrusted) cannot forge another attribution's key.
      key += keyPart(k) + keyPart(v);
    }
    safe = { key, attrs };
    this.safeCache.set(attribution, safe);
    return safe;
  }

  /** The last shape each attribution object was recorded under: most calls repeat their shape, and a hit builds no key. */
  private readonly lastShape = new WeakMap<Attribution, CallShape>();

  private shapeFor(s: Settlement): CallShape {
    const record = s.record;
    const last = this.lastShape.get(record.attribution);
    if (last !== undefined && last.matches(s.genAiOperation, record.requestedModelId, record.modelId, s.serverAddress, s.serverPort)) return last;
    const shape = this.findShape(s);
    this.lastShape.set(record.attribution, shape);
    return shape;
  }

  private findShape(s: Settlement): CallShape {
    const record = s.record;
    const safe = this.safeAttribution(record.attribution);
    const operationName = s.genAiOperation;
    // Every caller-given part length-prefixed (model ids are the caller's strings), the attribution last.
    const address = s.serverAddress ?? '';
    const key = `${operationName}\u0000${keyPart(record.requestedModelId)}${keyPart(record.modelId)}${keyPart(address)}${s.serverPort}\u0000${safe.key}`;
    let shape = this.shapes.get(key);
    if (shape !== undefined) return shape;
    if (this.shapes.size >= MAX_SHAPES) {
      this.overflow ??= new CallShape({ [ATTR_OVERFLOW]: true, [ATTR_PROVIDER_NAME]: PROVIDER_AWS_BEDROCK }, {}, false, undefined);
      return this.overflow;
    }
    const semconv: Attributes = {
      [ATTR_OPERATION_NAME]: operationName,
      [ATTR_PROVIDER_NAME]: PROVIDER_AWS_BEDROCK,
      [ATTR_REQUEST_MODEL]: record.requestedModelId,
      [ATTR_RESPONSE_MODEL]: record.modelId,
    };
    if (s.serverAddress !== undefined) {
      semconv[ATTR_SERVER_ADDRESS] = s.serverAddress;
      semconv[ATTR_SERVER_PORT] = s.serverPort;
    }
    shape = new CallShape(semconv, safe.attrs, this.options.histogramAttribution, [operationName, record.requestedModelId, record.modelId, s.serverAddress, s.serverPort]);
    this.shapes.set(key, shape);
    return shape;
  }

  /**
   * Records `value` in histogram `index` under `attributes`; in producer mode through the series
   * the shape keeps in `slot` (no lookup per record), unless the attributes are an error's.
   */
  private histogram(index: HistogramIndex, value: number, attributes: Attributes, shape: CallShape, slot: number): void {
    const inProcess = this.inProcess;
    if (inProcess !== undefined) {
      if (slot < 0) inProcess.record(index, value, attributes);
      else (shape.series[slot] ??= inProcess.seriesOf(index, attributes)).record(value);
    } else if (this.options.histograms === 'instruments' && this.instruments !== undefined) {
      const i = this.instruments;
      (index === TOKEN_USAGE ? i.tokenUsage : index === DURATION ? i.duration : i.timeToFirstChunk)?.record(value, attributes);
    }
  }

  /** Records one settled call. */
  record(settlement: Settlement): void {
    if (this.instruments === undefined && !this.start()) return;
    const record = settlement.record;
    const shape = this.shapeFor(settlement);
    if (record.usageSource !== 'none' && record.usageSource !== 'unsent') {
      // Only calls something was billed for (no 0 among token sizes); the conventions count cache reads and writes as input.
      this.histogram(TOKEN_USAGE, record.inputTokens + record.cacheReadInputTokens + record.cacheWriteInputTokens, shape.inputTokens, shape, 0);
      this.histogram(TOKEN_USAGE, record.outputTokens, shape.outputTokens, shape, 1);
      shape.tokens[0] = (shape.tokens[0] ?? 0) + record.inputTokens;
      shape.tokens[1] = (shape.tokens[1] ?? 0) + record.outputTokens;
      shape.tokens[2] = (shape.tokens[2] ?? 0) + record.cacheReadInputTokens;
      shape.tokens[3] = (shape.tokens[3] ?? 0) + record.cacheWriteInputTokens;
    }
    if (record.error === undefined) this.histogram(DURATION, record.durationMs / 1000, shape.histogram, shape, 2);
    else this.histogram(DURATION, record.durationMs / 1000, shape.errorAttrs(record.error), shape, -1);
    if (record.timeToFirstChunkMs !== undefined) this.histogram(TIME_TO_FIRST_CHUNK, record.timeToFirstChunkMs / 1000, shape.histogram, shape, 3);
    const outcome: OutcomeName = record.outcome;
    const index = outcome === 'success' ? 0 : OUTCOMES.indexOf(outcome);
    shape.calls[index] = (shape.calls[index] ?? 0) + 1;
    if (record.costUsd !== undefined) {
      shape.costNano += toNanoUsd(record.costUsd);
      shape.hasCost = true;
    }
    if (record.onDemandEquivalentUsd !== undefined) {
      shape.onDemandEquivalentNano += toNanoUsd(record.onDemandEquivalentUsd);
      shape.hasOnDemandEquivalent = true;
    }
  }
}
