import { readFile, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { UsageRecord } from '../record.js';
import { SQLITE_COLUMNS } from './sqlite-ledger.js';

function fromStored(o: Record<string, unknown>): UsageRecord | undefined {
  if (typeof o.operation !== 'string' || typeof o.modelId !== 'string') return undefined;
  const startedAt = typeof o.startedAt === 'string' ? Date.parse(o.startedAt) : Number(o.startedAt);
  if (!Number.isFinite(startedAt)) return undefined;
  return { ...(o as unknown as UsageRecord), startedAt };
}

async function readJsonl(path: string): Promise<{ records: UsageRecord[]; skipped: number }> {
  const dir = dirname(path);
  const name = basename(path);
  const rotated = (await readdir(dir).catch(() => [] as string[]))
    .map((f) => /^(.*)\.(\d+)$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null && m[1] === name)
    .map((m) => Number(m[2]))
    .sort((a, b) => b - a);
  const records: UsageRecord[] = [];
  let skipped = 0;
  for (const file of [...rotated.map((n) => `${path}.${n}`), path]) {
    const text = await readFile(join(file)).then(
      (b) => b.toString('utf8'),
      () => '',
    );
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        const r = fromStored(JSON.parse(line) as Record<string, unknown>);
        if (r === undefined) skipped++;
        else records.push(r);
      } catch {
        skipped++;
      }
    }
  }
  return { records, skipped };
}

async function readSqlite(path: string): Promise<{ records: UsageRecord[]; skipped: number }> {
  const mod = (await import('better-sqlite3')) as unknown as { default: new (p: string, o: { readonly: boolean }) => { prepare(sql: string): { all(): Record<string, unknown>[] }; close(): void } };
  const db = new mod.default(path, { readonly: true });
  try {
    const rows = db.prepare(`SELECT ${SQLITE_COLUMNS.join(', ')} FROM usage ORDER BY started_at`).all();
    const records = rows.map((r): UsageRecord => ({
      operation: r.operation as UsageRecord['operation'],
      requestedModelId: String(r.requested_model_id),
      modelId: String(r.model_id),
      modelKind: r.model_kind as UsageRecord['modelKind'],
      baseModelId: (r.base_model_id as string | null) ?? undefined,
      attribution: typeof r.attribution === 'string' ? (JSON.parse(r.attribution) as Record<string, string>) : {},
      inputTokens: Number(r.input_tokens),
      outputTokens: Number(r.output_tokens),
      cacheReadInputTokens: Number(r.cache_read_input_tokens),
      cacheWriteInputTokens: Number(r.cache_write_input_tokens),
      cacheWrite1hInputTokens: Number(r.cache_write_1h_input_tokens),
      speechInputTokens: 0,
      speechOutputTokens: 0,
      serviceTier: (r.service_tier as string | null) ?? undefined,
      performanceLatency: undefined,
      usageSource: r.usage_source as UsageRecord['usageSource'],
      costUsd: (r.cost_usd as number | null) ?? undefined,
      onDemandEquivalentUsd: (r.on_demand_equivalent_usd as number | null) ?? undefined,
      durationMs: Number(r.duration_ms),
      timeToFirstChunkMs: (r.time_to_first_chunk_ms as number | null) ?? undefined,
      startedAt: Date.parse(String(r.started_at)),
      fallback: typeof r.fallback === 'string' ? (JSON.parse(r.fallback) as UsageRecord['fallback']) : undefined,
      outcome: r.outcome as UsageRecord['outcome'],
      error: (r.error as string | null) ?? undefined,
      requestId: (r.request_id as string | null) ?? undefined,
    }));
    return { records, skipped: 0 };
  } finally {
    db.close();
  }
}

/** Reads a ledger back: a JSON Lines file (with its rotated files, oldest first) or a SQLite file (`.db`, `.sqlite`). */
export function readLedger(path: string): Promise<{ records: UsageRecord[]; skipped: number }> {
  return /\.(db|sqlite3?)$/.test(path) ? readSqlite(path) : readJsonl(path);
}
