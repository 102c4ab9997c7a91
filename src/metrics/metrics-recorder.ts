import { diag } from '@opentelemetry/api';
import type { Attributes, Histogram, Meter, MeterProvider, ObservableCounter, BatchObservableResult } from '@opentelemetry/api';
import type { Settlement } from '../call.js';
import { fromNanoUsd, toNanoUsd } from '../money.js';
import { CallShape, OUTCOMES } from './call-shape.js';
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
  DURATION_BUCKETS,
  FINOPS_CALLS,
  FINOPS_COST,
  FINOPS_ON_DEMAND_EQUIVALENT,
  FINOPS_TOKENS,
  GEN_AI_OPERATION_DURATION,
  GEN_AI_TIME_TO_FIRST_CHUNK,
  GEN_AI_TOKEN_USAGE,
  PROVIDER_AWS_BEDROCK,
  TOKEN_BUCKETS,
  UNIT_CALL,
  UNIT_SECONDS,
  UNIT_TOKEN,
  UNIT_USD,
} from './semconv.js';

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
  /** Whether to record the GenAI histograms at all. */
  readonly histograms: boolean;
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
  private instruments:
    | {
        readonly tokenUsage: Histogram;
        readonly duration: Histogram;
        readonly timeToFirstChunk: Histogram;
      }
    | undefined;
  private meter: Meter | undefined;
  /** Set when the meter provider failed: metrics are off, calls go on. */
  private failed = false;

  constructor(private readonly options: MetricsRecorderOptions) {
    this.guard = new CardinalityGuard(options.maxValuesPerKey);
  }

  /** The meter, created on first use so a global MeterProvider registered after the plugin is still used. */
  getMeter(): Meter {
    this.meter ??= this.options.meterProvider().getMeter('bedrock-finops', this.options.version);
    return this.meter;
  }

  private ensureInstruments(): NonNullable<MetricsRecorder['instruments']> {
    if (this.instruments !== undefined) return this.instruments;
    const meter = this.getMeter();
    const instruments = {
      tokenUsage: meter.createHistogram(GEN_AI_TOKEN_USAGE, {
        description: 'Number of input and output tokens used.',
        unit: UNIT_TOKEN,
        advice: { explicitBucketBoundaries: [...TOKEN_BUCKETS] },
      }),
      duration: meter.createHistogram(GEN_AI_OPERATION_DURATION, {
        description: 'GenAI operation duration.',
        unit: UNIT_SECONDS,
        advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] },
      }),
      timeToFirstChunk: meter.createHistogram(GEN_AI_TIME_TO_FIRST_CHUNK, {
        description: 'Time to receive the first chunk of a streaming response.',
        unit: UNIT_SECONDS,
        advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] },
      }),
    };
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

  /**
   * Creates the instruments now (they are otherwise created at the first call). A provider that
   * throws turns metrics off for this plugin, reported once; calls are never affected.
   */
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
    for (const k in attribution) {
      const v = this.guard.safe(k, attribution[k] ?? '');
      attrs[k] = v;
      key += `${k}\u0001${v}\u0002`;
    }
    safe = { key, attrs };
    this.safeCache.set(attribution, safe);
    return safe;
  }

  private shapeFor(s: Settlement): CallShape {
    const record = s.record;
    const safe = this.safeAttribution(record.attribution);
    const operationName = s.genAiOperation;
    const key = `${operationName}\u0000${record.requestedModelId}\u0000${record.modelId}\u0000${s.serverAddress ?? ''}\u0000${s.serverPort}\u0000${safe.key}`;
    let shape = this.shapes.get(key);
    if (shape !== undefined) return shape;
    if (this.shapes.size >= MAX_SHAPES) {
      this.overflow ??= new CallShape({ [ATTR_OVERFLOW]: true, [ATTR_PROVIDER_NAME]: PROVIDER_AWS_BEDROCK }, {}, false);
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
    shape = new CallShape(semconv, safe.attrs, this.options.histogramAttribution);
    this.shapes.set(key, shape);
    return shape;
  }

  /** Records one settled call. */
  record(settlement: Settlement): void {
    if (this.instruments === undefined && !this.start()) return;
    const instruments = this.ensureInstruments();
    const record = settlement.record;
    const shape = this.shapeFor(settlement);
    const histograms = this.options.histograms;
    if (record.usageSource !== 'none') {
      if (histograms) {
        // The conventions count cache reads and writes as input.
        instruments.tokenUsage.record(record.inputTokens + record.cacheReadInputTokens + record.cacheWriteInputTokens, shape.inputTokens);
        instruments.tokenUsage.record(record.outputTokens, shape.outputTokens);
      }
      shape.tokens[0] = (shape.tokens[0] ?? 0) + record.inputTokens;
      shape.tokens[1] = (shape.tokens[1] ?? 0) + record.outputTokens;
      shape.tokens[2] = (shape.tokens[2] ?? 0) + record.cacheReadInputTokens;
      shape.tokens[3] = (shape.tokens[3] ?? 0) + record.cacheWriteInputTokens;
    }
    if (histograms) {
      instruments.duration.record(record.durationMs / 1000, record.error === undefined ? shape.histogram : shape.errorAttrs(record.error));
      if (record.timeToFirstChunkMs !== undefined) instruments.timeToFirstChunk.record(record.timeToFirstChunkMs / 1000, shape.histogram);
    }
    const outcome: OutcomeName = record.outcome;
    const index = OUTCOMES.indexOf(outcome);
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
