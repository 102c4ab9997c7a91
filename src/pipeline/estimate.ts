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
 * Whether Bedrock may have billed a call that ended this way without telling us how much: a
 * response that came without readable usage; a stream the caller stopped, or that broke, after it
 * had started; a call aborted while its request was in flight. Nothing is billed for a call
 * refused or failed before any response, or aborted before anything was sent.
 */
export function mayHaveBilled(call: Call, outcome: Outcome): boolean {
  if (outcome === 'success' || call.firstEventAt >= 0) return true;
  return outcome === 'abandoned' && call.attempt === 'in-flight';
}

const FIELDS = ['inputTokens', 'outputTokens', 'cacheReadInputTokens', 'cacheWriteInputTokens', 'cacheWrite1hInputTokens'] as const;

const INPUT_SIDE = ['inputTokens', 'cacheReadInputTokens', 'cacheWriteInputTokens'] as const;

/**
 * Drops implausible counts (reported once per model); `undefined` when nothing was dropped. Not
 * believed: any count above {@link MAX_PLAUSIBLE_TOKENS}; an input side (input + cache reads and
 * writes) adding up to more than that; output beyond the request's own cap (plus a margin:
 * Bedrock never generates past `maxTokens`).
 */
export function withoutImplausible(observed: ObservedUsage, modelId: string, reporter: OnceReporter, maxOutput?: number): ObservedUsage | undefined {
  const u = observed.usage;
  // Most calls: every count plausible, nothing allocated.
  if (
    (u.inputTokens ?? 0) <= MAX_PLAUSIBLE_TOKENS &&
    (u.outputTokens ?? 0) <= MAX_PLAUSIBLE_TOKENS &&
    (u.cacheReadInputTokens ?? 0) <= MAX_PLAUSIBLE_TOKENS &&
    (u.cacheWriteInputTokens ?? 0) <= MAX_PLAUSIBLE_TOKENS &&
    (u.cacheWrite1hInputTokens ?? 0) <= MAX_PLAUSIBLE_TOKENS &&
    !((u.inputTokens ?? 0) + (u.cacheReadInputTokens ?? 0) + (u.cacheWriteInputTokens ?? 0) > MAX_PLAUSIBLE_TOKENS) &&
    !(maxOutput !== undefined && u.outputTokens !== undefined && u.outputTokens > outputCeiling(maxOutput))
  )
    return undefined;
  return dropImplausible(observed, modelId, reporter, maxOutput);
}

/** Past a request's output cap by more than this margin, an output count is not believed. */
function outputCeiling(maxOutput: number): number {
  return maxOutput + Math.max(64, Math.ceil(maxOutput * 0.1));
}

function dropImplausible(observed: ObservedUsage, modelId: string, reporter: OnceReporter, maxOutput: number | undefined): ObservedUsage | undefined {
  let usage: PartialUsage | undefined;
  const drop = (f: (typeof FIELDS)[number], why: string): void => {
    const n = observed.usage[f];
    usage ??= { ...observed.usage };
    usage[f] = undefined;
    reporter.warn(`implausible:${modelId.slice(0, 200)}:${f}`, `${modelId.slice(0, 200)} reported ${n} ${f}, ${why}: not believed (dropped from the record, never charged)`);
  };
  for (const f of FIELDS) {
    const n = observed.usage[f];
    if (n !== undefined && n > MAX_PLAUSIBLE_TOKENS) drop(f, `more than ${MAX_PLAUSIBLE_TOKENS} for one call`);
  }
  const u = usage ?? observed.usage;
  const inputSide = INPUT_SIDE.reduce((sum, f) => sum + (u[f] ?? 0), 0);
  if (inputSide > MAX_PLAUSIBLE_TOKENS) for (const f of INPUT_SIDE) if (u[f] !== undefined) drop(f, `an input side of ${inputSide} tokens in all, more than ${MAX_PLAUSIBLE_TOKENS}`);
  const output = u.outputTokens;
  if (maxOutput !== undefined && output !== undefined && output > outputCeiling(maxOutput)) drop('outputTokens', `more than the request's cap of ${maxOutput} output tokens`);
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
