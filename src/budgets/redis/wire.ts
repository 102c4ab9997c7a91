import { MAX_SAFE_AMOUNT } from '../../money.js';
import { UNIT_FIELDS, type Units } from '../amounts.js';
import type { CounterReply, Lease, LeaseOp } from './lease.js';

/** Lease script status: already applied (a re-sent script), applied, applied but the need did not fit. */
export type LeaseStatus = 'duplicate' | 'applied' | 'refused';

/**
 * An amount as the script reads it: a non-negative integer no larger than 2^53 − 1. Lua numbers
 * are doubles, and one that is not an exact integer below 1e17 cannot reach `HINCRBY` (Redis
 * writes it as `1.2e+17`, and the script fails after some of its writes, so every retry would
 * apply them again); NaN would fail it too.
 */
const int = (n: number): string => (n > 0 ? String(Math.min(MAX_SAFE_AMOUNT, Math.trunc(n))) : '0');

/** ARGV of the lease script (see `LEASE_SCRIPT`). */
export function leaseArgs(lease: Lease, op: LeaseOp, ttlMs: number, forgetMs: number): string[] {
  const args = [op.holder, String(op.seq), String(ttlMs), String(forgetMs), op.final ? '1' : '0', String(op.fraction), Number.isFinite(lease.windowEnd) ? String(lease.windowEnd) : 'inf', lease.id];
  for (const f of UNIT_FIELDS) {
    const limit = lease.limits[f];
    args.push(limit === undefined ? '' : int(limit), int(op.x[f]), int(op.hold[f]), int(op.need[f]), int(op.want[f]));
  }
  return args;
}

/** A reply from Redis is untrusted data: a non-array or a non-number is an error, not a zero. */
function numbers(reply: unknown, length: number): number[] {
  if (!Array.isArray(reply) || reply.length < length) throw new TypeError('unexpected reply from Redis (not the budget store script?)');
  return reply.slice(0, length).map((v: unknown) => {
    const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : Number.NaN;
    if (!Number.isFinite(n)) throw new TypeError('unexpected value in a reply from Redis');
    return n;
  });
}

const units = (v: readonly number[], at: number): Units => ({ tokens: v[at] ?? 0, inputTokens: v[at + 1] ?? 0, outputTokens: v[at + 2] ?? 0, nanoUsd: v[at + 3] ?? 0 });

function counterReply(v: readonly number[], at: number): CounterReply {
  return { u: units(v, at), l: units(v, at + 4), r: units(v, at + 8), g: units(v, at + 12) };
}

export function parseLeaseReply(reply: unknown): { status: LeaseStatus; counter: CounterReply } {
  const v = numbers(reply, 17);
  const status: LeaseStatus = v[0] === 0 ? 'duplicate' : v[0] === 2 ? 'refused' : 'applied';
  return { status, counter: counterReply(v, 1) };
}

export function parseReadReply(reply: unknown, counters: number): CounterReply[] {
  const v = numbers(reply, counters * 16);
  return Array.from({ length: counters }, (_, i) => counterReply(v, i * 16));
}
