import type { Call, Outcome } from '../call.js';
import type { OnceReporter } from '../diagnostics.js';
import type { ObservedUsage, PartialUsage } from '../usage/token-usage.js';

/**
 * Above this, a reported token count is not believed (the largest context windows are a few
 * million tokens): the field is dropped, reported once, and never charged to a budget.
 */
export const MAX_PLAUSIBLE_TOKENS = 10_000_000;

/** Usage sources that are what Bedrock bills. */
const BILLED = new Set(['usage', 'headers', 'invocation-metrics']);

/**
 * Whether Bedrock may have billed a call that ended this way without telling us: the caller
 * stopped or aborted it after it was sent, or its stream broke after it had started. A service
 * error before any response is not billed.
 */
export function mayHaveBilled(call: Call, outcome: Outcome): boolean {
  return outcome === 'abandoned' || (outcome === 'error' && call.firstEventAt >= 0);
}

const FIELDS = ['inputTokens', 'outputTokens', 'cacheReadInputTokens', 'cacheWriteInputTokens', 'cacheWrite1hInputTokens'] as const;

/** Drops implausible counts (reported once per model); `undefined` when nothing was dropped. */
export function withoutImplausible(observed: ObservedUsage, modelId: string, reporter: OnceReporter): ObservedUsage | undefined {
  let usage: PartialUsage | undefined;
  for (const f of FIELDS) {
    const n = observed.usage[f];
    if (n === undefined || n <= MAX_PLAUSIBLE_TOKENS) continue;
    usage ??= { ...observed.usage };
    usage[f] = undefined;
    reporter.warn(`implausible:${modelId.slice(0, 200)}:${f}`, `${modelId.slice(0, 200)} reported ${n} ${f}, more than ${MAX_PLAUSIBLE_TOKENS} for one call: not believed (dropped from the record, never charged)`);
  }
  return usage === undefined ? undefined : { usage, source: observed.source };
}

/**
 * The usage to record when Bedrock's billed usage never came for a call it may have billed: what
 * the response itself reported where it did, else the admission's input estimate and the output
 * seen so far. Marked `usageSource: 'estimate'`, so budgets are charged more than 0.
 */
export function estimatedUsage(observed: ObservedUsage | undefined, inputEstimate: () => number, outputSeen: number): ObservedUsage {
  const known = observed?.usage ?? {};
  return {
    usage: {
      ...known,
      inputTokens: known.inputTokens ?? inputEstimate(),
      outputTokens: Math.max(known.outputTokens ?? 0, outputSeen),
    },
    source: 'estimate',
  };
}

/** Whether `observed` is what Bedrock billed (complete: no field was dropped). */
export function isBilled(observed: ObservedUsage | undefined): boolean {
  return observed !== undefined && BILLED.has(observed.source);
}
