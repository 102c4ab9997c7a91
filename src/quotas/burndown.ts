import { compileGlob } from '../budgets/glob.js';

/** One row of the burndown table: base models (a glob) and how many quota tokens one output token costs. */
export interface BurndownEntry {
  /** Base model ids (`*` matches any run of characters). */
  readonly models: string;
  /** Quota tokens per output token. */
  readonly output: number;
  /** Where the rate comes from. */
  readonly source: string;
}

const GUIDE = 'Amazon Bedrock user guide, "How tokens are counted in Amazon Bedrock" (quotas-token-burndown)';

/**
 * Output burndown rates by model family, first match wins; every other model burns 1 quota token
 * per output token (input and cache writes always 1:1, cache reads 0). The guide lists the
 * Claude Opus 4 and Sonnet 4 class models (and their later versions) at 5×; the Claude 4
 * generation's Haiku and Claude 3.7 Sonnet are taken at 5× too. Where the guide's list is
 * shorter, reserving more only paces earlier, never draws a throttle; set a quota's `burndown`
 * to override.
 */
export const BURNDOWN_TABLE: readonly BurndownEntry[] = [
  { models: 'anthropic.claude-opus-4*', output: 5, source: `${GUIDE}: Claude Opus 4 and later Opus 4.x` },
  { models: 'anthropic.claude-sonnet-4*', output: 5, source: `${GUIDE}: Claude Sonnet 4 and later Sonnet 4.x` },
  { models: 'anthropic.claude-haiku-4*', output: 5, source: `${GUIDE}: the Claude 4 generation (taken at 5× with Opus and Sonnet 4)` },
  { models: 'anthropic.claude-3-7-sonnet*', output: 5, source: `${GUIDE}: Claude 3.7 Sonnet` },
];

const COMPILED = BURNDOWN_TABLE.map((e) => ({ test: compileGlob(e.models), output: e.output }));

const known = new Map<string, number>();

/** Quota tokens one output token of `baseModelId` costs (1 when the model is unknown or not in the table). */
export function outputBurndown(baseModelId: string | undefined): number {
  if (baseModelId === undefined) return 1;
  let rate = known.get(baseModelId);
  if (rate !== undefined) return rate;
  rate = COMPILED.find((e) => e.test(baseModelId))?.output ?? 1;
  // Ids come from requests: the memo is bounded.
  if (known.size >= 1024) known.clear();
  known.set(baseModelId, rate);
  return rate;
}
