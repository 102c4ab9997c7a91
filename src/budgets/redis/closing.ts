import { diag } from '@opentelemetry/api';
import { UNIT_FIELDS, type Units } from '../amounts.js';
import type { BudgetStoreCloseReport, UndeliveredUsage } from '../store.js';
import type { StoreHealth } from './health.js';
import type { Lease } from './lease.js';
import type { SlicePump } from './slice-pump.js';

const RETRY_MS = 100;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** `promise`, or `undefined` once `ms` have passed (the timer never outlives the race). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(() => { resolve(undefined); }, Math.max(0, ms))))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether the lease still has usage to report or room beyond its calls in flight to give back (or may: a failed script may have leased some). */
function owes(lease: Lease): boolean {
  return lease.dirty() || lease.bound !== undefined || UNIT_FIELDS.some((f) => lease.acked.g[f] > lease.inflight[f]);
}

function unreported(lease: Lease): Units {
  const u = { tokens: 0, inputTokens: 0, outputTokens: 0, nanoUsd: 0 };
  for (const f of UNIT_FIELDS) u[f] = Math.max(0, lease.used[f] - lease.acked.r[f]);
  return u;
}

/**
 * Closing: every slice reports its usage and gives back its room (keeping only what calls still
 * in flight hold, which expires with the slice), retried until Redis acknowledges or the
 * deadline passes. What was never acknowledged is counted as dropped, logged once and returned.
 */
export async function closeLeases(leases: Iterable<Lease>, pump: SlicePump, health: StoreHealth, timeoutMs: number): Promise<BudgetStoreCloseReport> {
  const deadline = performance.now() + timeoutMs;
  const all = [...leases];
  for (;;) {
    const left = deadline - performance.now();
    const owing = all.filter(owes);
    if (owing.length === 0 || left <= 0) break;
    const sent = Promise.all(owing.map((lease) => pump.send(lease, 'return')));
    const outcomes = await within(sent, left);
    if (outcomes === undefined) break;
    if (outcomes.includes('failed')) await sleep(Math.min(RETRY_MS, deadline - performance.now()));
  }
  const undelivered: UndeliveredUsage[] = all
    .filter((lease) => lease.dirty())
    .map((lease) => ({ budget: lease.budget, key: lease.id, usage: unreported(lease), commits: Math.max(1, lease.pendingCommits) }));
  const commits = undelivered.reduce((n, u) => n + u.commits, 0);
  if (commits > 0) {
    health.count('dropped', commits);
    const tokens = undelivered.reduce((n, u) => n + u.usage.tokens, 0);
    diag.error(
      `bedrock-finops: the Redis budget store closed with ${commits} commit(s) (${tokens} tokens, on ${undelivered.length} counter(s)) that Redis never acknowledged within closeTimeoutMs; budgets may undercount by that much`,
    );
  }
  return { complete: undelivered.length === 0 && !all.some(owes), undelivered };
}
