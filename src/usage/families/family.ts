import type { JsonObject } from '../json.js';
import type { PartialUsage } from '../token-usage.js';

/** How one model family reports usage in its own InvokeModel body format. */
export interface FamilyExtractor {
  /** A short name for diagnostics. */
  readonly family: string;
  /** Usage in an InvokeModel response body. */
  body(body: JsonObject): PartialUsage | undefined;
  /** Usage in one decoded InvokeModelWithResponseStream chunk; counts are cumulative, later chunks win. */
  streamChunk(chunk: JsonObject): PartialUsage | undefined;
}
