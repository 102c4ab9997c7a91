import type { TokenUsage, UsageSource } from '../record.js';

/** Usage as an extractor reports it: each count known or not. */
export interface PartialUsage {
  inputTokens?: number | undefined;
  outputTokens?: number | undefined;
  cacheReadInputTokens?: number | undefined;
  cacheWriteInputTokens?: number | undefined;
  /** The part of the cache writes made with a one-hour TTL (priced higher). */
  cacheWrite1hInputTokens?: number | undefined;
  /** The speech part of the input and output (Nova Sonic). */
  speechInputTokens?: number | undefined;
  speechOutputTokens?: number | undefined;
}

/**
 * Above this, a reported token count is not believed (the largest context windows are a few
 * million tokens): the field is dropped, reported once, and an estimate charged in its place.
 */
export const MAX_PLAUSIBLE_TOKENS = 10_000_000;

/** What was read of a call's usage, and from where. */
export interface ObservedUsage {
  readonly usage: PartialUsage;
  readonly source: UsageSource;
}

/** Token counts of a record, including the one-hour part of the cache writes. */
export interface FullUsage extends TokenUsage {
  readonly cacheWrite1hInputTokens: number;
  readonly speechInputTokens: number;
  readonly speechOutputTokens: number;
}

export const ZERO_USAGE: FullUsage = Object.freeze({
  inputTokens: 0,
  outputTokens: 0,
  cacheReadInputTokens: 0,
  cacheWriteInputTokens: 0,
  cacheWrite1hInputTokens: 0,
  speechInputTokens: 0,
  speechOutputTokens: 0,
});

/** Whether an extractor found anything at all. */
export function hasAnyCount(u: PartialUsage | undefined): u is PartialUsage {
  return (
    u !== undefined &&
    (u.inputTokens !== undefined ||
      u.outputTokens !== undefined ||
      u.cacheReadInputTokens !== undefined ||
      u.cacheWriteInputTokens !== undefined)
  );
}

/** Completes a partial usage with zeros. */
export function toTokenUsage(u: PartialUsage): FullUsage {
  return {
    inputTokens: u.inputTokens ?? 0,
    outputTokens: u.outputTokens ?? 0,
    cacheReadInputTokens: u.cacheReadInputTokens ?? 0,
    cacheWriteInputTokens: u.cacheWriteInputTokens ?? 0,
    cacheWrite1hInputTokens: u.cacheWrite1hInputTokens ?? 0,
    speechInputTokens: u.speechInputTokens ?? 0,
    speechOutputTokens: u.speechOutputTokens ?? 0,
  };
}

/** Copies every count `from` knows onto `into` (later events win: stream counts are cumulative). */
export function mergeUsage(into: PartialUsage, from: PartialUsage | undefined): void {
  if (from === undefined) return;
  if (from.inputTokens !== undefined) into.inputTokens = from.inputTokens;
  if (from.outputTokens !== undefined) into.outputTokens = from.outputTokens;
  if (from.cacheReadInputTokens !== undefined) into.cacheReadInputTokens = from.cacheReadInputTokens;
  if (from.cacheWriteInputTokens !== undefined) into.cacheWriteInputTokens = from.cacheWriteInputTokens;
  if (from.cacheWrite1hInputTokens !== undefined) into.cacheWrite1hInputTokens = from.cacheWrite1hInputTokens;
  if (from.speechInputTokens !== undefined) into.speechInputTokens = from.speechInputTokens;
  if (from.speechOutputTokens !== undefined) into.speechOutputTokens = from.speechOutputTokens;
}
