import type { Units } from '../amounts.js';
import { CommittedIds } from '../committed-ids.js';
import type { Lease } from './lease.js';

interface Held {
  readonly leases: readonly Lease[];
  readonly amounts: readonly Units[];
  readonly expiresAt: number;
}

const SWEEP_EVERY_MS = 1_000;

/**
 * The calls this process admitted and has not committed: what each holds on which slice, until
 * its commit or its `leaseMs` (a call that never settles stops holding room). Committed ids are
 * remembered (bounded) so a repeated commit or reserve changes nothing.
 */
export class ReservationBook {
  private readonly held = new Map<string, Held>();
  private readonly committed = new CommittedIds();
  private nextSweep = 0;

  /** Whether `id` was already reserved or committed here. */
  has(id: string): boolean {
    return this.held.has(id) || this.committed.has(id);
  }

  isCommitted(id: string): boolean {
    return this.committed.has(id);
  }

  add(id: string, leases: readonly Lease[], amounts: readonly Units[], expiresAt: number): void {
    this.held.set(id, { leases, amounts, expiresAt });
  }

  /** Ends `id`'s reservation (its room goes back to the slices) and remembers it as committed. */
  commit(id: string): void {
    const h = this.held.get(id);
    if (h !== undefined) {
      this.held.delete(id);
      h.leases.forEach((lease, i) => { lease.release(h.amounts[i] as Units); });
    }
    this.committed.add(id);
  }

  /** Releases reservations whose lease ran out (epoch ms, as the requests give it). */
  sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + SWEEP_EVERY_MS;
    for (const [id, h] of this.held) {
      if (h.expiresAt > now) continue;
      this.held.delete(id);
      h.leases.forEach((lease, i) => { lease.release(h.amounts[i] as Units); });
    }
  }
}
