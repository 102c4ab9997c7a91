/** How late a timer may fire before we call the event loop blocked rather than Redis slow. */
const LATE_MS = 25;
/** A timer re-arms at most this many times (a loop blocked without end still times out). */
const MAX_REARMS = 20;

/**
 * A timeout that measures Redis, not this process's event loop: it expires only after `ms` of
 * time in which the answer could have been read. When the timer fires late (the loop was busy)
 * it re-arms, and when it does expire it waits one `setImmediate`, so an answer already in the
 * socket (read in the poll phase of the same loop turn) settles first. Returns a cancel function.
 */
export function redisDeadline(ms: number, onExpire: () => void): () => void {
  let cancelled = false;
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  let rearms = 0;
  const arm = (): void => {
    const due = performance.now() + ms;
    timer = setTimeout(() => {
      if (cancelled) return;
      if (performance.now() - due > Math.max(LATE_MS, ms / 2) && rearms++ < MAX_REARMS) {
        arm();
        return;
      }
      immediate = setImmediate(() => {
        if (!cancelled) onExpire();
      });
    }, ms);
    timer.unref();
  };
  arm();
  return () => {
    cancelled = true;
    clearTimeout(timer);
    if (immediate !== undefined) clearImmediate(immediate);
  };
}
