import type { Call, Outcome } from '../call.js';
import type { OnceReporter } from '../diagnostics.js';
import { MAX_PLAUSIBLE_TOKENS, type ObservedUsage, type PartialUsage } from '../usage/token-usage.js';

export { MAX_PLAUSIBLE_TOKENS };

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
  const original = observed.usage;
  // Every call comes here: named reads for the common all-plausible answer (a loop over field
  // names reads each through V8's shared lookup cache, cold between calls).
  const input = original.inputTokens ?? 0;
  const reads = original.cacheReadInputTokens ?? 0;
  const writes = original.cacheWriteInputTokens ?? 0;
  const out = original.outputTokens ?? 0;
  // Each part at most the sum only while none is negative: each is checked (an answer is untrusted).
  if (
    input + reads + writes <= MAX_PLAUSIBLE_TOKENS &&
    input <= MAX_PLAUSIBLE_TOKENS &&
    reads <= MAX_PLAUSIBLE_TOKENS &&
    writes <= MAX_PLAUSIBLE_TOKENS &&
    out <= MAX_PLAUSIBLE_TOKENS &&
    (original.cacheWrite1hInputTokens ?? 0) <= MAX_PLAUSIBLE_TOKENS &&
    (maxOutput === undefined || out <= maxOutput + Math.max(64, Math.ceil(maxOutput * 0.1)))
  )
    return undefined;
  // A copy only once something is dropped: a call whose counts are all plausible allocates nothing.
  let usage: PartialUsage | undefined;
  for (const f of FIELDS) {
    const n = original[f];
    if (n !== undefined && n > MAX_PLAUSIBLE_TOKENS) usage = dropped(usage, original, f, modelId, reporter, `more than ${MAX_PLAUSIBLE_TOKENS} for one call`);
  }
  const u: PartialUsage = usage ?? original;
  const inputSide = (u.inputTokens ?? 0) + (u.cacheReadInputTokens ?? 0) + (u.cacheWriteInputTokens ?? 0);
  if (inputSide > MAX_PLAUSIBLE_TOKENS)
    for (const f of INPUT_SIDE) if (u[f] !== undefined) usage = dropped(usage, original, f, modelId, reporter, `an input side of ${inputSide} tokens in all, more than ${MAX_PLAUSIBLE_TOKENS}`);
  const output = u.outputTokens;
  if (maxOutput !== undefined && output !== undefined && output > maxOutput + Math.max(64, Math.ceil(maxOutput * 0.1)))
    usage = dropped(usage, original, 'outputTokens', modelId, reporter, `more than the request's cap of ${maxOutput} output tokens`);
  return usage === undefined ? undefined : { usage, source: observed.source };
}

/** `usage` (or a copy of `original`, the first time) without field `f`, reported once per model and field. */
function dropped(usage: PartialUsage | undefined, original: PartialUsage, f: (typeof FIELDS)[number], modelId: string, reporter: OnceReporter, why: string): PartialUsage {
  const copy = usage ?? { ...original };
  copy[f] = undefined;
  reporter.warn(`implausible:${modelId.slice(0, 200)}:${f}`, `${modelId.slice(0, 200)} reported ${original[f]} ${f}, ${why}: not believed (dropped; an estimate is charged in its place, usageSource "estimate")`);
  return copy;
}

/**
 * The usage to record when Bedrock's billed usage never came for a call it may have billed, or
 * came with counts not believed: what the response itself reported where it did (and was
 * believed), else the admission's input estimate and `outputEstimate` (see
 * {@link outputEstimate}). Marked `usageSource: 'estimate'`, so budgets are charged more than 0.
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

/**
 * The output to charge a call whose reported output count was dropped as implausible: the
 * request's own cap when it set one (Bedrock never generates past it, and admission reserved it),
 * else what the response actually returned (`returned`, read only then: a stream's deltas seen, a
 * unary response's text). Never 0 because a proxy lied, never the absurd count.
 */
export function outputEstimate(maxOutput: number | undefined, returned: () => number): number {
  return maxOutput ?? Math.min(MAX_PLAUSIBLE_TOKENS, returned());
}

/** Whether `observed` is what Bedrock billed (complete: no field was dropped). */
export function isBilled(observed: ObservedUsage | undefined): boolean {
  return observed !== undefined && BILLED.has(observed.source);
}
