import { outputBurndown } from '../quotas/burndown.js';
import { parseModelId } from '../model/model-id.js';
import type { UsageRecord } from '../record.js';
import { CountHistogram } from './histogram.js';
import type { Hint, MaxTokensRow } from './types.js';
import { keyPart } from '../key-part.js';

/** Calls (with a max tokens) per feature × model before the report says anything about them. */
const MIN_CALLS = 5;
/** Below this share of maxTokens at P99, the report suggests lowering it. */
const WASTEFUL = 0.5;
/** The suggested cap: the P99 output with this much headroom. */
const HEADROOM = 1.25;

interface Group {
  readonly feature: string;
  readonly model: string;
  readonly share: CountHistogram;
  readonly maxTokens: CountHistogram;
  readonly output: CountHistogram;
}

/**
 * How much of the `maxTokens` they ask for calls use, per feature × model: P99 of output ÷
 * `maxTokens`. Bedrock reserves `maxTokens` (× the model's burndown) of the quota at request
 * start, so a feature asking for far more than it uses throttles itself (and its neighbours)
 * early. Memory: counts per distinct value.
 */
export class MaxTokensTracker {
  private readonly groups = new Map<string, Group>();

  add(r: UsageRecord, feature: string): void {
    const max = r.maxTokens;
    if (max === undefined || !(max > 0) || r.usageSource === 'none' || r.usageSource === 'unsent') return;
    // The feature length-prefixed: feature and model id are untrusted, so a separator could be forged.
    const key = keyPart(feature) + r.modelId;
    let g = this.groups.get(key);
    if (g === undefined) this.groups.set(key, (g = { feature, model: r.modelId, share: new CountHistogram(), maxTokens: new CountHistogram(), output: new CountHistogram() }));
    // Per mille: exact percentiles over integers.
    g.share.add(Math.round((r.outputTokens * 1000) / max));
    g.maxTokens.add(max);
    g.output.add(r.outputTokens);
  }

  rows(): MaxTokensRow[] {
    return [...this.groups.values()]
      .filter((g) => g.share.total >= MIN_CALLS)
      .map((g) => {
        const [p99Share = 0] = g.share.percentiles([99]);
        const [maxP50 = 0] = g.maxTokens.percentiles([50]);
        const [outP99 = 0] = g.output.percentiles([99]);
        return { feature: g.feature, model: g.model, calls: g.share.total, maxTokensP50: maxP50, outputP99: outP99, p99OutputShare: p99Share / 1000, suggestedMaxTokens: Math.max(1, Math.ceil(outP99 * HEADROOM)) };
      })
      .sort((a, b) => a.p99OutputShare - b.p99OutputShare || a.feature.localeCompare(b.feature));
  }

  /** A hint for each feature × model whose P99 output is under half its typical maxTokens. */
  static hints(rows: readonly MaxTokensRow[]): Hint[] {
    return rows
      .filter((r) => r.p99OutputShare < WASTEFUL && r.suggestedMaxTokens < r.maxTokensP50)
      .map((r) => {
        const burndown = outputBurndown(parseModelId(r.model).baseModelId);
        const freed = (r.maxTokensP50 - r.suggestedMaxTokens) * burndown;
        return {
          kind: 'max-tokens' as const,
          feature: r.feature,
          model: r.model,
          detail: `${r.feature} on ${r.model} asks for maxTokens ${r.maxTokensP50} but 99% of its calls use at most ${Math.round(r.p99OutputShare * 100)}% of it (P99 output ${r.outputP99}): set maxTokens to about ${r.suggestedMaxTokens} — Bedrock reserves maxTokens${burndown > 1 ? ` × ${burndown}` : ''} of the quota at request start, so that frees ${freed} quota tokens per call in flight`,
          savingsUsd: undefined,
        };
      });
  }
}
