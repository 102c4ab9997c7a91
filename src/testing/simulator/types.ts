import type { SimulatorCapacity } from './capacity.js';
import type { SimulatorQuota } from './quota.js';

/** Options of the simulator. Everything is optional. */
export interface BedrockSimulatorOptions {
  /** @defaultValue `'127.0.0.1'` */
  readonly host?: string;
  /** @defaultValue `0` (a free port) */
  readonly port?: number;
  /** Delay before a response (or a stream's first event), in ms. @defaultValue `0` */
  readonly latencyMs?: number;
  /** Delay between stream events, in ms. @defaultValue `0` */
  readonly chunkDelayMs?: number;
  /** Tokens generated per call, capped by the request's own max tokens. @defaultValue `64` */
  readonly outputTokens?: number;
  /** Generated words (tokens) per stream event. @defaultValue `4` */
  readonly wordsPerChunk?: number;
  /** Provisioned-model ARNs it serves: the model each one runs, and its capacity. */
  readonly provisioned?: Readonly<Record<string, SimulatorCapacity & { readonly model: string }>>;
  /** Capacity of every on-demand model id (each id has its own). @defaultValue unlimited */
  readonly onDemand?: SimulatorCapacity;
  /**
   * On-demand quotas counted the way Bedrock counts them (reserve input + max tokens × burndown
   * at the start, charge input + cache writes + output × burndown at the end), one per model and
   * pool; a request over one answers 429. @defaultValue no quota
   */
  readonly onDemandQuota?: SimulatorQuota;
  /** Clock for capacity windows. @defaultValue `Date.now` */
  readonly now?: () => number;
}

/** A request as the simulator sees it. */
export interface SimRequest {
  readonly method: string;
  /** The raw (percent-encoded) path. */
  readonly path: string;
  readonly body: Uint8Array;
}

/** Per model id (as called) counters. */
export interface SimulatorModelStats {
  requests: number;
  throttled: number;
  inputTokens: number;
  outputTokens: number;
}

/** What the simulator has served, for tests and the demo. */
export interface SimulatorStats {
  requests: number;
  throttled: number;
  /** With `onDemandQuota`: the most quota in use seen at any admission (never above the quota). */
  quotaPeak: number;
  readonly byModel: Map<string, SimulatorModelStats>;
}
