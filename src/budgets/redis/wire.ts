import { wireAmount } from '../../money.js';
import { UNIT_FIELDS, type Units } from '../amounts.js';
import type { CounterReply, Lease, LeaseOp } from './lease.js';

/** Lease script status: already applied (a re-sent script), applied, applied but the need did not fit, applied but Redis is recovering a lost counter (no new room). */
export type LeaseStatus = 'duplicate' | 'applied' | 'refused' | 'recovering';

/** ARGV of the lease script (see `LEASE_SCRIPT`). */
export function leaseArgs(lease: Lease, op: LeaseOp, ttlMs: number, forgetMs: number, provisionalCap?: number): string[] {
  const args = [op.holder, String(op.seq), String(ttlMs), String(forgetMs), op.final ? '1' : '0', String(op.fraction), Number.isFinite(lease.windowEnd) ? String(lease.windowEnd) : 'inf', lease.id];
  for (const f of UNIT_FIELDS) {
    const limit = lease.limits[f];
    args.push(limit === undefined ? '' : wireAmount(limit), wireAmount(op.x[f]), wireAmount(op.hold[f]), wireAmount(op.need[f]), wireAmount(op.want[f]));
  }
  for (const f of UNIT_FIELDS) args.push(wireAmount(lease.seen[f]));
  args.push(op.known ? '1' : '0');
  // What Redis had acknowledged of this holder's usage: if Redis lost it, that much of the lost usage is reported again.
  for (const f of UNIT_FIELDS) args.push(op.known ? wireAmount(lease.acked.r[f]) : '0');
  args.push(provisionalCap === undefined ? '' : String(provisionalCap));
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

/**
 * `lost`: Redis had no record of a holder it answered before (it lost the counter). `gone`: usage
 * Redis lost that nobody reports again, which room is counted from beyond `u`.
 */
export function parseLeaseReply(reply: unknown): { status: LeaseStatus; counter: CounterReply; lost: boolean; gone: Units } {
  const v = numbers(reply, 22);
  const status: LeaseStatus = v[0] === 0 ? 'duplicate' : v[0] === 2 ? 'refused' : v[0] === 3 ? 'recovering' : 'applied';
  return { status, counter: counterReply(v, 1), lost: v[17] === 1, gone: units(v, 18) };
}

/** Per counter, Redis's answer and the usage it lost that nobody reports again (`gone`). */
export function parseReadReply(reply: unknown, counters: number): { counter: CounterReply; gone: Units }[] {
  const v = numbers(reply, counters * 20);
  return Array.from({ length: counters }, (_, i) => ({ counter: counterReply(v, i * 20), gone: units(v, i * 20 + 16) }));
}
