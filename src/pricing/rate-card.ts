/** A price per million tokens, flat or tiered by the request's total input tokens. */
export interface TieredRate {
  /** USD per million tokens up to the first tier. */
  readonly base: number;
  /** Ascending: past `start` total input tokens, the whole request is charged `price`. */
  readonly tiers: readonly { readonly start: number; readonly price: number }[];
}

export type Rate = number | TieredRate;

/** Where a rate card came from. */
export type PriceSource = 'override' | 'supplement' | 'catalog';

/** What one model costs, in USD per million tokens. Missing cache rates fall back as documented. */
export interface RateCard {
  readonly input: Rate;
  readonly output: Rate | undefined;
  readonly cacheRead: Rate | undefined;
  readonly cacheWrite: Rate | undefined;
  readonly cacheWrite1h: Rate | undefined;
  /** Speech tokens (Nova Sonic), when the model prices them apart from text. */
  readonly inputAudio?: Rate | undefined;
  readonly outputAudio?: Rate | undefined;
  /** Input and output rates of latency-optimized inference, for the models that offer it. */
  readonly latencyOptimized?: { readonly input: number; readonly output: number } | undefined;
  readonly source: PriceSource;
  /** The catalog entry that matched, for diagnostics. */
  readonly matched: string;
}

/** Token counts to price (Bedrock's meaning: `input` excludes the cache counts). */
export interface PricedUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadInputTokens: number;
  readonly cacheWriteInputTokens: number;
  /** The part of `cacheWriteInputTokens` written with a one-hour TTL. */
  readonly cacheWrite1hInputTokens: number;
  /** The speech part of `inputTokens` / `outputTokens` (Nova Sonic), priced at the audio rates. */
  readonly speechInputTokens?: number | undefined;
  readonly speechOutputTokens?: number | undefined;
}

function perMillion(rate: Rate, totalInput: number): number {
  if (typeof rate === 'number') return rate;
  let price = rate.base;
  for (const tier of rate.tiers) if (totalInput > tier.start) price = tier.price;
  return price;
}

/**
 * USD cost of `usage` at `card`, before service-tier and discount multipliers. Cache reads
 * without their own rate are charged as input; cache writes without their own rate as input;
 * one-hour cache writes without their own rate at twice the input rate (Anthropic's published
 * ratio for one-hour writes).
 */
export function costOf(card: RateCard, usage: PricedUsage): number {
  const totalInput = usage.inputTokens + usage.cacheReadInputTokens + usage.cacheWriteInputTokens;
  const input = perMillion(card.input, totalInput);
  const write1h = Math.min(usage.cacheWrite1hInputTokens, usage.cacheWriteInputTokens);
  // Speech tokens at their own rates where the card has them; the rest of the counts is text.
  const audioIn = card.inputAudio === undefined ? 0 : Math.min(usage.speechInputTokens ?? 0, usage.inputTokens);
  const audioOut = card.outputAudio === undefined ? 0 : Math.min(usage.speechOutputTokens ?? 0, usage.outputTokens);
  let micro = (usage.inputTokens - audioIn) * input;
  if (audioIn > 0 && card.inputAudio !== undefined) micro += audioIn * perMillion(card.inputAudio, totalInput);
  if (audioOut > 0 && card.outputAudio !== undefined) micro += audioOut * perMillion(card.outputAudio, totalInput);
  if (usage.outputTokens > audioOut && card.output !== undefined) micro += (usage.outputTokens - audioOut) * perMillion(card.output, totalInput);
  if (usage.cacheReadInputTokens > 0) micro += usage.cacheReadInputTokens * (card.cacheRead === undefined ? input : perMillion(card.cacheRead, totalInput));
  if (usage.cacheWriteInputTokens > write1h)
    micro += (usage.cacheWriteInputTokens - write1h) * (card.cacheWrite === undefined ? input : perMillion(card.cacheWrite, totalInput));
  if (write1h > 0) micro += write1h * (card.cacheWrite1h === undefined ? 2 * input : perMillion(card.cacheWrite1h, totalInput));
  return micro / 1_000_000;
}
