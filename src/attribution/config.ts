import type { Attribution } from '../record.js';
import { ConfigurationError } from '../errors/configuration-error.js';
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
  readonly attribution?: Readonly<Record<string, string>> | ReadonlyMap<string, string>;
  /**
   * Also write attribution into each request's `requestMetadata` (Converse / ConverseStream
   * field, InvokeModel header), so model invocation logs carry the same tags. Caller-supplied
   * pairs win; Bedrock's limits are applied (16 pairs, 256 characters, its character set).
   * @defaultValue `false`
   */
  readonly propagateToBedrock?: boolean;
  /**
   * Also read attribution from the active OpenTelemetry Baggage (`propagation.getBaggage`): `true`
   * for every entry, or a list of the baggage keys to take. For apps that already run OTel's
   * context manager (no second `AsyncLocalStorage` needed) and for attribution set at the edge
   * service that should follow the call across services. Baggage is untrusted: keys are
   * normalised, values bounded, at most 32 keys, never an error. Precedence: plugin defaults <
   * baggage < `withAttribution` < `attribute(command, …)`.
   * @defaultValue `false`
   */
  readonly attributionFromBaggage?: boolean | readonly string[];
}

export interface AttributionResolvedConfig {
  readonly attribution: Attribution;
  readonly propagateToBedrock: boolean;
  /** `undefined`: baggage is not read; `'all'`, or the keys to read. */
  readonly baggageKeys: 'all' | readonly string[] | undefined;
}

export const ATTRIBUTION_OPTION_KEYS = ['attribution', 'propagateToBedrock', 'attributionFromBaggage'] as const;

function resolveBaggage(value: unknown): AttributionResolvedConfig['baggageKeys'] {
  if (value === undefined || value === false) return undefined;
  if (value === true) return 'all';
  if (Array.isArray(value) && value.every((k) => typeof k === 'string' && k.length > 0)) return value as string[];
  throw new ConfigurationError('attributionFromBaggage', 'must be a boolean or a list of baggage keys');
}

export function resolveAttributionConfig(o: AttributionInputConfig): AttributionResolvedConfig {
  return {
    attribution: attributionFromConfig(o.attribution, 'attribution'),
    propagateToBedrock: boolean(o.propagateToBedrock, false, 'propagateToBedrock'),
    baggageKeys: resolveBaggage(o.attributionFromBaggage),
  };
}
