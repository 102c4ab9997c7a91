import { assertKnownKeys, assertObject, positiveInteger, timerMs } from '../validate.js';

/** How a stream the caller stopped reading early is still metered. */
export interface DrainOptions {
  /**
   * How long to keep reading the rest of the stream in the background, in ms.
   * @defaultValue `60000`
   */
  readonly timeoutMs?: number;
  /**
   * How many more bytes (or events' worth of bytes) to read before giving up.
   * @defaultValue `16777216` (16 MiB)
   */
  readonly maxBytes?: number;
}

/** Usage-reading options of `bedrockFinOps`. */
export interface UsageInputConfig {
  /**
   * When the caller stops reading a stream early (`break`, `return` or a throw out of `for
   * await`, or a cancelled `fetch` body), Bedrock still bills the whole generation and sends its
   * usage last. The plugin keeps reading the rest in the background — events are discarded, never
   * given to the caller, no text is kept — to record what Bedrock billed; the connection stays
   * open that much longer. `false` turns it off: such streams are then charged an estimate.
   * @defaultValue `{ timeoutMs: 60000, maxBytes: 16777216 }`
   */
  readonly drainAbandonedStreams?: false | DrainOptions;
}

export interface UsageResolvedConfig {
  /** `undefined`: abandoned streams are not drained. */
  readonly drain: { readonly timeoutMs: number; readonly maxBytes: number } | undefined;
}

export const USAGE_OPTION_KEYS = ['drainAbandonedStreams'] as const;

export function resolveUsageConfig(o: UsageInputConfig): UsageResolvedConfig {
  const d = o.drainAbandonedStreams;
  if (d === false) return { drain: undefined };
  if (d === undefined) return { drain: { timeoutMs: 60_000, maxBytes: 16 * 1024 * 1024 } };
  if ((d as unknown) === true) return { drain: { timeoutMs: 60_000, maxBytes: 16 * 1024 * 1024 } };
  assertObject(d, 'drainAbandonedStreams');
  assertKnownKeys(d, ['timeoutMs', 'maxBytes'], 'drainAbandonedStreams');
  return {
    drain: {
      timeoutMs: timerMs(d.timeoutMs, 60_000, 'drainAbandonedStreams.timeoutMs'),
      maxBytes: positiveInteger(d.maxBytes, 16 * 1024 * 1024, 'drainAbandonedStreams.maxBytes'),
    },
  };
}
