import { parseModelId } from '../model/model-id.js';
import { costOf, type RateCard } from '../pricing/rate-card.js';
import type { CountHistogram } from './histogram.js';
import { formatUsd, NANO, type NanoSum } from './money.js';
import type { TokenSums } from './token-sums.js';
import type { Hint } from './types.js';

/** What the report keeps per feature × model for the hints (sums and the output-size histogram). */
export interface FeatureModelStats extends TokenSums {
  readonly feature: string;
  readonly model: string;
  readonly prompts: CountHistogram;
  readonly outputs: CountHistogram;
}

/** The next tier down in the same family, to price the same tokens at (Bedrock ids; a profile keeps its geography). */
const SMALLER: readonly (readonly [RegExp, string])[] = [
  [/^anthropic\.claude-(opus|sonnet)/, 'anthropic.claude-haiku-4-5-20251001-v1:0'],
  [/^amazon\.nova-(premier|pro)/, 'amazon.nova-lite-v1:0'],
  [/^meta\.llama\d.*-(70b|90b|405b)/, 'meta.llama3-1-8b-instruct-v1:0'],
  [/^mistral\.mistral-large/, 'mistral.mistral-small-2402-v1:0'],
];

/** The smaller model to suggest for `modelId`, as an id of the same kind (profile or bare id). */
export function smallerModel(modelId: string): string | undefined {
  const ref = parseModelId(modelId);
  if (ref.baseModelId === undefined || (ref.kind !== 'foundation-model' && ref.kind !== 'inference-profile')) return undefined;
  const alt = SMALLER.find(([re]) => re.test(ref.baseModelId ?? ''))?.[1];
  if (alt === undefined) return undefined;
  return ref.kind === 'inference-profile' && ref.geography !== undefined ? `${ref.geography}.${alt}` : alt;
}

const rate = (r: RateCard['input'] | undefined): number | undefined => (r === undefined ? undefined : typeof r === 'number' ? r : r.base);

/**
 * Right-sizing hints: an expensive model (≥ $2.50 per million input) answering a feature with
 * short outputs (median < 300 tokens) over at least 5 calls, with what the same tokens would
 * have cost on the next tier down; and batch candidates (calls attributed `interactive: 'false'`
 * or `batch: 'true'`) with Bedrock batch inference's 50% discount.
 */
export function buildHints(groups: Iterable<FeatureModelStats>, batch: ReadonlyMap<string, { calls: number; costNano: NanoSum }>, cardOf: (modelId: string) => RateCard | undefined): Hint[] {
  const hints: Hint[] = [];
  for (const g of groups) {
    if (g.calls < 5) continue;
    const card = cardOf(g.model);
    const input = rate(card?.input);
    const [medianOut = 0] = g.outputs.percentiles([50]);
    if (input === undefined || input < 2.5 || medianOut >= 300) continue;
    const alternative = smallerModel(g.model);
    const altCard = alternative === undefined ? undefined : cardOf(alternative);
    const altUsd = altCard === undefined ? undefined : costOf(altCard, g);
    const cost = g.costNano.usd;
    const savingsUsd = altUsd === undefined || altUsd >= cost ? undefined : cost - altUsd;
    const suggestion = alternative === undefined ? 'try a smaller tier' : `try ${alternative}${savingsUsd === undefined ? '' : ` (the same tokens: ${formatUsd(altUsd ?? 0)} instead of ${formatUsd(cost)})`}`;
    hints.push({ kind: 'smaller-model', feature: g.feature, model: g.model, ...(alternative === undefined ? {} : { alternative }), detail: `${g.model} ($${input}/M input) answers ${g.feature} with a median of ${medianOut} output tokens: ${suggestion}`, savingsUsd });
  }
  for (const [feature, b] of batch)
    hints.push({ kind: 'batch', feature, model: undefined, detail: `${b.calls} calls of ${feature} are marked non-interactive: Bedrock batch inference costs 50% less`, savingsUsd: Number((b.costNano.value + 1n) / 2n) / NANO });
  return hints.sort((a, b) => (b.savingsUsd ?? 0) - (a.savingsUsd ?? 0));
}
