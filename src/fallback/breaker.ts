/** Where a provisioned model's breaker stands. */
export type BreakerState = 'closed' | 'open' | 'half-open';

interface Entry {
  openUntil: number;
  probing: boolean;
}

/**
 * One breaker per provisioned-model ARN, shared by every client the plugin serves. A 429 opens
 * it: calls go straight to the fallback for `cooldownMs`; then one probe call tries the
 * provisioned model again (the rest keep going to the fallback until it answers); success closes
 * it, another 429 opens it again.
 */
export class Breakers {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly cooldownMs: number) {}

  state(arn: string, now: number): BreakerState {
    const e = this.entries.get(arn);
    if (e === undefined) return 'closed';
    return now < e.openUntil ? 'open' : 'half-open';
  }

  /** Whether a call should try the provisioned model now (closed, or the one probe of a half-open breaker). */
  tryProvisioned(arn: string, now: number): boolean {
    const e = this.entries.get(arn);
    if (e === undefined) return true;
    if (now < e.openUntil || e.probing) return false;
    e.probing = true;
    return true;
  }

  /** The provisioned model answered: close the breaker. */
  succeeded(arn: string): void {
    this.entries.delete(arn);
  }

  /** The provisioned model throttled: open (or re-open) the breaker. */
  throttled(arn: string, now: number): void {
    this.entries.set(arn, { openUntil: now + this.cooldownMs, probing: false });
  }

  /** A probe ended without an answer either way (another error): let the next call probe. */
  released(arn: string): void {
    const e = this.entries.get(arn);
    if (e !== undefined) e.probing = false;
  }
}
