import { writeFileSync } from 'node:fs';
import type { UsageRecord } from '../../src/index.js';
import { ZERO_USAGE } from '../../src/usage/token-usage.js';

/** A usage record with every field, defaults for a successful Nova Micro call. */
export function usageRecord(over: Partial<UsageRecord> & { startedAt: number }): UsageRecord {
  return {
    operation: 'Converse',
    requestedModelId: over.modelId ?? 'amazon.nova-micro-v1:0',
    modelId: 'amazon.nova-micro-v1:0',
    modelKind: 'foundation-model',
    baseModelId: undefined,
    attribution: {},
    ...ZERO_USAGE,
    serviceTier: undefined,
    performanceLatency: undefined,
    usageSource: 'usage',
    costUsd: 0,
    onDemandEquivalentUsd: undefined,
    durationMs: 100,
    timeToFirstChunkMs: undefined,
    fallback: undefined,
    outcome: 'success',
    error: undefined,
    requestId: undefined,
    ...over,
  };
}

/** A record as a JSON Lines ledger stores it. */
export const storedLine = (r: UsageRecord): string => JSON.stringify({ ...r, startedAt: new Date(r.startedAt).toISOString() });

/** Writes records (and any extra raw lines, e.g. torn ones) as a JSON Lines ledger. */
export function writeJsonl(path: string, records: readonly UsageRecord[], extraLines: readonly string[] = []): void {
  writeFileSync(path, [...records.map(storedLine), ...extraLines].map((l) => `${l}\n`).join(''));
}

/** Sums USD amounts exactly, as integer nano-USD (what the report does). */
export const nanoSum = (usd: readonly (number | undefined)[]): number => usd.reduce<number>((s, v) => s + Math.round((v ?? 0) * 1e9), 0);
