/**
 * What a Bedrock `modelId` names. Bedrock accepts bare foundation ids, ARNs of several kinds and
 * inference profile ids; pricing, budgets and extractors need to know which one they have.
 */
export type ModelKind =
  | 'foundation-model'
  | 'inference-profile'
  | 'application-inference-profile'
  | 'provisioned-model'
  | 'custom-model'
  | 'custom-model-deployment'
  | 'imported-model'
  | 'prompt'
  | 'prompt-router'
  | 'marketplace-endpoint'
  | 'unknown';

/** A parsed model id: what kind of id it is, and what it is known to run. */
export interface ModelRef {
  /** The id as given. */
  readonly id: string;
  readonly kind: ModelKind;
  /** Region from an ARN; `undefined` for bare ids. */
  readonly region: string | undefined;
  /** Account from an ARN; `undefined` for bare ids and foundation-model ARNs. */
  readonly accountId: string | undefined;
  /** Geography prefix of a system inference profile (`us`, `eu`, `apac`, `jp`, `au`, `us-gov`, `ca`, `global`). */
  readonly geography: string | undefined;
  /** The foundation model id behind it when it can be read from the id itself. */
  readonly baseModelId: string | undefined;
  /** The model provider (`anthropic`, `amazon`, `meta`, …) when the base model is known. */
  readonly provider: string | undefined;
}

/** Geography prefixes of cross-region (system) inference profiles. */
export const INFERENCE_PROFILE_GEOGRAPHIES: ReadonlySet<string> = new Set([
  'us',
  'eu',
  'apac',
  'jp',
  'au',
  'ca',
  'us-gov',
  'global',
]);

// A foundation model id: provider, a dot, then the model name (letters, digits, `.-:_`).
const FOUNDATION_ID = /^[a-z0-9-]+\.[A-Za-z0-9][\w.:-]*$/;
const ARN = /^arn:aws[a-z-]*:(bedrock|sagemaker):([a-z0-9-]*):(\d*):([a-z-]+)\/(.+)$/;

const RESOURCE_KINDS: Readonly<Record<string, ModelKind>> = {
  'foundation-model': 'foundation-model',
  'inference-profile': 'inference-profile',
  'application-inference-profile': 'application-inference-profile',
  'provisioned-model': 'provisioned-model',
  'custom-model': 'custom-model',
  'custom-model-deployment': 'custom-model-deployment',
  'imported-model': 'imported-model',
  prompt: 'prompt',
  'prompt-router': 'prompt-router',
  'default-prompt-router': 'prompt-router',
  endpoint: 'marketplace-endpoint',
};

function providerOf(baseModelId: string | undefined): string | undefined {
  if (baseModelId === undefined) return undefined;
  const dot = baseModelId.indexOf('.');
  return dot > 0 ? baseModelId.slice(0, dot) : undefined;
}

function make(
  id: string,
  kind: ModelKind,
  baseModelId: string | undefined,
  region?: string,
  accountId?: string,
  geography?: string,
): ModelRef {
  return {
    id,
    kind,
    region: region === '' ? undefined : region,
    accountId: accountId === '' ? undefined : accountId,
    geography,
    baseModelId,
    provider: providerOf(baseModelId),
  };
}

/** Splits `us.anthropic.claude…` into its geography and base id; `undefined` when it is not a profile id. */
function splitProfileId(id: string): { geography: string; base: string } | undefined {
  const dot = id.indexOf('.');
  if (dot <= 0) return undefined;
  const geography = id.slice(0, dot);
  const base = id.slice(dot + 1);
  if (!INFERENCE_PROFILE_GEOGRAPHIES.has(geography) || !FOUNDATION_ID.test(base)) return undefined;
  return { geography, base };
}

/**
 * Parses any `modelId` Bedrock Runtime accepts into a {@link ModelRef}. Never throws: an id it
 * does not recognise is `kind: 'unknown'` (the call still goes through and is still metered).
 */
export function parseModelId(id: string): ModelRef {
  if (id.startsWith('arn:')) {
    const m = ARN.exec(id);
    if (m === null) return make(id, 'unknown', undefined);
    const [, service = '', region, account, resource = '', rest = ''] = m;
    const kind = service === 'sagemaker' ? (resource === 'endpoint' ? 'marketplace-endpoint' : 'unknown') : (RESOURCE_KINDS[resource] ?? 'unknown');
    switch (kind) {
      case 'foundation-model':
        return make(id, kind, FOUNDATION_ID.test(rest) ? rest : undefined, region, account);
      case 'inference-profile': {
        const profile = splitProfileId(rest);
        return make(id, kind, profile?.base, region, account, profile?.geography);
      }
      case 'custom-model': {
        // custom-model/<base model id>/<id>; older ARNs carry only the id.
        const slash = rest.lastIndexOf('/');
        const base = slash > 0 ? rest.slice(0, slash) : undefined;
        return make(id, kind, base !== undefined && FOUNDATION_ID.test(base) ? base : undefined, region, account);
      }
      default:
        return make(id, kind, undefined, region, account);
    }
  }
  const profile = splitProfileId(id);
  if (profile !== undefined) return make(id, 'inference-profile', profile.base, undefined, undefined, profile.geography);
  if (FOUNDATION_ID.test(id)) return make(id, 'foundation-model', id);
  return make(id, 'unknown', undefined);
}
