import type { Attributes } from '@opentelemetry/api';
import { detached } from '../detached.js';
import type { HistogramSeries } from './in-process-histograms.js';
import { ATTR_ERROR_TYPE, ATTR_FINOPS_OUTCOME, ATTR_FINOPS_TOKEN_TYPE, ATTR_TOKEN_TYPE, OTHER_VALUE } from './semconv.js';

export const TOKEN_TYPES = ['input', 'output', 'cache_read', 'cache_write'] as const;
export const OUTCOMES = ['success', 'error', 'abandoned'] as const;
/** Distinct error names one call shape keeps apart in its histograms; the rest are `_OTHER`. */
export const MAX_ERROR_TYPES = 64;

/**
 * One distinct combination of operation, models, endpoint and (guarded) attribution. Attribute
 * objects are built once per shape, so recording a call allocates none; the FinOps counters are
 * plain numbers here, reported through observable instruments at collection time.
 */
export class CallShape {
  readonly histogram: Attributes;
  readonly inputTokens: Attributes;
  readonly outputTokens: Attributes;
  private errors: Map<string, Attributes> | undefined;
  readonly finops: Attributes;
  readonly tokenAttrs: readonly Attributes[];
  readonly callAttrs: readonly Attributes[];
  readonly tokens = [0, 0, 0, 0];
  readonly calls = [0, 0, 0];
  /** Summed in nano-USD: money is added up as integers. */
  costNano = 0;
  hasCost = false;
  onDemandEquivalentNano = 0;
  hasOnDemandEquivalent = false;
  /**
   * The in-process histogram series this shape records into (`genAiHistograms: 'producer'`),
   * kept once looked up: input tokens, output tokens, duration, time to first chunk.
   */
  readonly series: (HistogramSeries | undefined)[] = [undefined, undefined, undefined, undefined];

  // Operation, requested and served model, server address and port: what besides attribution
  // tells shapes apart (fields of the shape itself: one object read per call, no array beside it).
  private readonly operation: string | undefined;
  private readonly requestedModelId: string;
  private readonly modelId: string;
  private readonly serverAddress: string | undefined;
  private readonly serverPort: number;

  constructor(semconv: Attributes, attribution: Readonly<Record<string, string>>, histogramAttribution: boolean, identity: readonly [string, string, string, string | undefined, number] | undefined) {
    // The overflow shape (no identity) matches nothing.
    this.operation = identity?.[0];
    this.requestedModelId = identity?.[1] ?? '';
    this.modelId = identity?.[2] ?? '';
    this.serverAddress = identity?.[3];
    this.serverPort = identity?.[4] ?? 0;
    this.finops = { ...attribution, ...semconv };
    this.histogram = histogramAttribution ? this.finops : semconv;
    this.inputTokens = { ...this.histogram, [ATTR_TOKEN_TYPE]: 'input' };
    this.outputTokens = { ...this.histogram, [ATTR_TOKEN_TYPE]: 'output' };
    this.tokenAttrs = TOKEN_TYPES.map((t) => ({ ...this.finops, [ATTR_FINOPS_TOKEN_TYPE]: t }));
    this.callAttrs = OUTCOMES.map((o) => ({ ...this.finops, [ATTR_FINOPS_OUTCOME]: o }));
  }

  /** Whether a call with these (and this shape's attribution) belongs to this shape. */
  matches(operation: string, requestedModelId: string, modelId: string, serverAddress: string | undefined, serverPort: number): boolean {
    return this.operation === operation && this.requestedModelId === requestedModelId && this.modelId === modelId && this.serverAddress === serverAddress && this.serverPort === serverPort;
  }

  errorAttrs(errorType: string): Attributes {
    this.errors ??= new Map();
    let attrs = this.errors.get(errorType);
    if (attrs === undefined) {
      // Error names come from the response (any endpoint, a proxy, a fetch base URL): past
      // MAX_ERROR_TYPES per shape they share one `_OTHER` series, as attribution values do.
      // A copy: the name may be a view of a longer string (a header cut to 64 characters), and a series lives long.
      const type = this.errors.size < MAX_ERROR_TYPES ? detached(errorType) : OTHER_VALUE;
      attrs = this.errors.get(type) ?? { ...this.histogram, [ATTR_ERROR_TYPE]: type };
      this.errors.set(type, attrs);
    }
    return attrs;
  }
}

