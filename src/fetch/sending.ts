import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Marks the async work of a call one instance is already metering, so its metered fetches below
 * pass that call's request on instead of metering it again: `wrapFetch(finops.fetch)`,
 * `finops.fetch` over a global `wrapFetch`, or an SDK client on a fetch-based request handler
 * (`FetchHttpHandler`) while the global fetch is metered. Off until one of the instance's metered
 * fetches is handed out: an SDK-only user never enters it (a second AsyncLocalStorage costs every
 * promise of the process a little on Node 20).
 */
export class SendingScope {
  private readonly store = new AsyncLocalStorage<true>();
  private on = false;

  /** Whether a metered fetch of this instance has been handed out. */
  get active(): boolean {
    return this.on;
  }

  /** From now on calls are marked while they send. */
  activate(): void {
    this.on = true;
  }

  /** Whether the current async context is sending a call this instance meters. */
  get inside(): boolean {
    return this.on && this.store.getStore() === true;
  }

  /** Runs `send` marked as sending a metered call (unmarked while no metered fetch is out). */
  run<T>(send: () => T): T {
    return this.on ? this.store.run(true, send) : send();
  }
}
