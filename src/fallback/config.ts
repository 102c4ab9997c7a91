import { parseModelId } from '../model/model-id.js';
import { ConfigurationError } from '../errors/configuration-error.js';
import { assertKnownKeys, assertModelId, assertObject, nonNegative, optionalPositive } from '../validate.js';

/** A provisioned-throughput model: what it serves and where to send calls it cannot take. */
export interface ProvisionedModelConfig {
  /** The model it serves (a foundation model id or inference profile id): used for pricing and the on-demand equivalent. */
  readonly model: string;
  /** The on-demand model id or inference profile to re-issue a call to when the provisioned model answers 429. */
  readonly fallback?: string;
  /** Purchased model units (capacity), for utilization metrics and the report's break-even verdict. */
  readonly modelUnits?: number;
  /** What the commitment costs per hour (all its model units), for break-even reporting. */
  readonly hourlyCostUsd?: number;
  /** Tokens per minute one model unit serves (from your model's quota page), so the report can compute utilization instead of estimating it. */
  readonly tokensPerMinutePerUnit?: number;
}

/** How provisioned throughput spills to on-demand. */
export interface FallbackOptions {
  /**
   * Exception names of a provisioned attempt that re-issue the call against its fallback.
   * @defaultValue `['ThrottlingException', 'ModelNotReadyException']`
   */
  readonly on?: readonly string[];
  /**
   * After a provisioned model throttles, calls go straight to its fallback for this long; then
   * one probe call tries the provisioned model again.
   * @defaultValue `10000`
   */
  readonly cooldownMs?: number;
}

/** Provisioned-throughput options of `bedrockFinOps`. */
export interface FallbackInputConfig {
  /**
   * Provisioned-throughput models by ARN.
   * @defaultValue `{}`
   */
  readonly provisioned?: Readonly<Record<string, ProvisionedModelConfig>>;
  /** How provisioned models spill to their `fallback`. */
  readonly fallback?: FallbackOptions;
}

export interface FallbackResolvedConfig {
  readonly provisioned: ReadonlyMap<string, ProvisionedModelConfig>;
  readonly fallbackOn: ReadonlySet<string>;
  readonly cooldownMs: number;
}

export const FALLBACK_OPTION_KEYS = ['provisioned', 'fallback'] as const;
const PROVISIONED_KEYS = ['model', 'fallback', 'modelUnits', 'hourlyCostUsd', 'tokensPerMinutePerUnit'];
const DEFAULT_ON = ['ThrottlingException', 'ModelNotReadyException'];

function resolveProvisioned(p: unknown): Map<string, ProvisionedModelConfig> {
  const provisioned = new Map<string, ProvisionedModelConfig>();
  if (p === undefined) return provisioned;
  assertObject(p, 'provisioned');
  for (const arn of Object.keys(p)) {
    const config = p[arn];
    const field = `provisioned["${arn}"]`;
    if (parseModelId(arn).kind !== 'provisioned-model')
      throw new ConfigurationError(field, 'the key must be a provisioned-model ARN (arn:aws:bedrock:REGION:ACCOUNT:provisioned-model/ID)');
    assertObject(config, field);
    assertKnownKeys(config, PROVISIONED_KEYS, field);
    assertModelId(config.model, `${field}.model`);
    if (config.fallback !== undefined) assertModelId(config.fallback, `${field}.fallback`);
    optionalPositive(config.modelUnits, `${field}.modelUnits`);
    optionalPositive(config.hourlyCostUsd, `${field}.hourlyCostUsd`);
    optionalPositive(config.tokensPerMinutePerUnit, `${field}.tokensPerMinutePerUnit`);
    provisioned.set(arn, config as unknown as ProvisionedModelConfig);
  }
  return provisioned;
}

export function resolveFallbackConfig(o: FallbackInputConfig): FallbackResolvedConfig {
  const provisioned = resolveProvisioned(o.provisioned);
  const f = o.fallback;
  if (f === undefined) return { provisioned, fallbackOn: new Set(DEFAULT_ON), cooldownMs: 10_000 };
  assertObject(f, 'fallback');
  assertKnownKeys(f, ['on', 'cooldownMs'], 'fallback');
  const on: unknown = f.on ?? DEFAULT_ON;
  if (!Array.isArray(on) || on.some((n) => typeof n !== 'string' || n.length === 0)) throw new ConfigurationError('fallback.on', 'must be a list of exception names');
  return { provisioned, fallbackOn: new Set(on as string[]), cooldownMs: f.cooldownMs === undefined ? 10_000 : nonNegative(f.cooldownMs, 'fallback.cooldownMs') };
}
