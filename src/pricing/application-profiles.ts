import { parseModelId } from '../model/model-id.js';

/** The part of a `GetInferenceProfile` response this helper reads. */
export interface InferenceProfileDescription {
  readonly models?: readonly { readonly modelArn?: string | undefined }[] | undefined;
}

function geographyOf(regions: readonly string[]): string | undefined {
  const prefixes = new Set(regions.map((r) => (r.startsWith('us-gov-') ? 'us-gov' : r.split('-')[0] ?? '')));
  if (prefixes.size !== 1) return 'global';
  const [prefix] = [...prefixes];
  switch (prefix) {
    case 'us':
    case 'us-gov':
    case 'eu':
    case 'ca':
      return prefix;
    case 'ap':
      return 'apac';
    default:
      return undefined;
  }
}

/**
 * Builds a `models` option for application inference profiles, whose ARNs do not name their
 * model, by describing each one (pass a function that calls `GetInferenceProfile` of
 * `@aws-sdk/client-bedrock`). A profile over one region is priced as its foundation model; one
 * that spans several regions as the cross-region profile of that geography (`us.`, `eu.`,
 * `apac.`, …, or `global.` when the regions span geographies). Profiles that cannot be described
 * are left out (and keep `costUsd` undefined) rather than failing start-up.
 *
 * @example
 * const bedrock = new BedrockClient({});
 * const models = await resolveApplicationInferenceProfiles(arns, (id) =>
 *   bedrock.send(new GetInferenceProfileCommand({ inferenceProfileIdentifier: id })));
 * const finops = bedrockFinOps({ models });
 */
export async function resolveApplicationInferenceProfiles(
  arns: readonly string[],
  describe: (arn: string) => Promise<InferenceProfileDescription>,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  await Promise.all(
    arns.map(async (arn) => {
      let description: InferenceProfileDescription;
      try {
        description = await describe(arn);
      } catch {
        return;
      }
      const refs = (description.models ?? []).map((m) => parseModelId(m.modelArn ?? '')).filter((r) => r.baseModelId !== undefined);
      const base = refs[0]?.baseModelId;
      if (base === undefined) return;
      const regions = [...new Set(refs.map((r) => r.region).filter((r): r is string => r !== undefined))];
      const geography = regions.length > 1 ? geographyOf(regions) : undefined;
      out[arn] = geography === undefined ? base : `${geography}.${base}`;
    }),
  );
  return out;
}
