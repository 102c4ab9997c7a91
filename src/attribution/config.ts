import type { Attribution } from '../record.js';
import { boolean } from '../validate.js';
import { attributionFromConfig } from './normalize.js';

/** Attribution options of `bedrockFinOps`. */
export interface AttributionInputConfig {
  /**
   * Attribution given to every call through this plugin; `withAttribution` scopes and
   * `attribute(command, …)` override it key by key. Keys are normalised to snake_case
   * (`costCenter` → `cost_center`); a key that cannot be one throws a `ConfigurationError`.
   * @defaultValue `{}`
   */
  readonly attribution?: Readonly<Record<string, string>>;
  /**
   * Also write attribution into each request's `requestMetadata` (Converse / ConverseStream
   * field, InvokeModel header), so model invocation logs carry the same tags. Caller-supplied
   * pairs win; Bedrock's limits are applied (16 pairs, 256 characters, its character set).
   * @defaultValue `false`
   */
  readonly propagateToBedrock?: boolean;
}

export interface AttributionResolvedConfig {
  readonly attribution: Attribution;
  readonly propagateToBedrock: boolean;
}

export const ATTRIBUTION_OPTION_KEYS = ['attribution', 'propagateToBedrock'] as const;

export function resolveAttributionConfig(o: AttributionInputConfig): AttributionResolvedConfig {
  return {
    attribution: attributionFromConfig(o.attribution, 'attribution'),
    propagateToBedrock: boolean(o.propagateToBedrock, false, 'propagateToBedrock'),
  };
}
