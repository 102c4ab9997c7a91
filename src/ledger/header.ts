/**
 * The header a ledger stores beside its records: the plugin's provisioned-throughput
 * configuration (model units, hourly cost, fallback), so the report can compute utilization,
 * break-even and the commitment's cost without a separate configuration file.
 */
import { fitsNanoUsd } from '../money.js';

/** One provisioned-throughput commitment as the ledger header stores it. */
export interface LedgerProvisioned {
  /** The model it serves (pricing and the on-demand equivalent). */
  readonly model?: string;
  /** The on-demand model calls spill to when it answers 429. */
  readonly fallback?: string;
  /** Purchased model units. */
  readonly modelUnits?: number;
  /** What the whole commitment costs per hour, USD. */
  readonly hourlyCostUsd?: number;
  /**
   * Tokens per minute one model unit serves (from your capacity tests or AWS guidance), for
   * utilization. Bedrock does not publish it per model; without it the report estimates capacity
   * from the minutes in which calls spilled (the commitment was full then).
   */
  readonly tokensPerMinutePerUnit?: number;
}

/** What a process writes once into its ledger (and again at the head of every file it starts). */
export interface LedgerHeader {
  /** Provisioned-throughput commitments by ARN. */
  readonly provisioned: Readonly<Record<string, LedgerProvisioned>>;
}

/** The header as stored: a JSON Lines line, a SQLite row or an OpenTelemetry log record. */
export interface StoredHeader extends LedgerHeader {
  readonly type: 'bedrock-finops.header';
  /** ISO time the header was written. */
  readonly writtenAt: string;
  /** The writing process, for telling fleet files apart. */
  readonly pid: number;
}

const NUMERIC = ['modelUnits', 'hourlyCostUsd', 'tokensPerMinutePerUnit'] as const;

/** The header to store: only the fields the report reads, validated (untrusted input never throws). */
export function storedHeader(header: LedgerHeader, now = Date.now()): StoredHeader {
  return { type: 'bedrock-finops.header', writtenAt: new Date(now).toISOString(), pid: process.pid, provisioned: cleanProvisioned(header?.provisioned) };
}

function cleanProvisioned(value: unknown): Record<string, LedgerProvisioned> {
  const out: Record<string, LedgerProvisioned> = {};
  if (typeof value !== 'object' || value === null) return out;
  for (const [arn, raw] of Object.entries(value as Record<string, unknown>)) {
    if (typeof raw !== 'object' || raw === null) continue;
    const c = raw as Record<string, unknown>;
    const p: { -readonly [K in keyof LedgerProvisioned]: LedgerProvisioned[K] } = {};
    if (typeof c.model === 'string') p.model = c.model;
    if (typeof c.fallback === 'string') p.fallback = c.fallback;
    for (const k of NUMERIC) {
      const v = c[k];
      // Up to ~9 million (an hourly cost then still counts exactly in nano-USD); a header claiming 1e300 made the commitment Infinity.
      if (typeof v === 'number' && v > 0 && fitsNanoUsd(v)) p[k] = v;
    }
    out[arn] = p;
  }
  return out;
}

/** Reads a stored header back; `undefined` when `o` is not one. */
export function parseHeader(o: unknown): StoredHeader | undefined {
  if (typeof o !== 'object' || o === null || (o as { type?: unknown }).type !== 'bedrock-finops.header') return undefined;
  const h = o as Record<string, unknown>;
  return {
    type: 'bedrock-finops.header',
    writtenAt: typeof h.writtenAt === 'string' ? h.writtenAt : new Date(0).toISOString(),
    pid: typeof h.pid === 'number' ? h.pid : 0,
    provisioned: cleanProvisioned(h.provisioned),
  };
}

/** Merges headers (fleet files, several processes): per ARN, later headers win field by field. */
export function mergeHeaders(headers: Iterable<StoredHeader>): Record<string, LedgerProvisioned> {
  const sorted = [...headers].sort((a, b) => a.writtenAt.localeCompare(b.writtenAt));
  const out: Record<string, LedgerProvisioned> = {};
  for (const h of sorted) for (const [arn, p] of Object.entries(h.provisioned)) out[arn] = { ...out[arn], ...p };
  return out;
}
