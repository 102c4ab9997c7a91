/**
 * The quota clock, in ms: the wall clock at process start plus monotonic time since. It reads
 * like `Date.now()` (so a store's `now` stays an epoch-ms number) but never steps when the wall
 * clock is set (NTP step, VM resume, by hand): a step forward emptied the windows and released
 * the holds of calls in flight at once, a step back kept charges for a window past it. Its
 * origin is this process's, so it is never sent to another process: Redis dates slices by its
 * own `TIME`. Read through the global `performance` each time (fake timers replace it).
 */
export function quotaNow(): number {
  return performance.timeOrigin + performance.now();
}

/** A time on the quota clock as a wall-clock `Date`, for a caller who schedules by `Date.now()`. */
export function wallDate(at: number): Date {
  return new Date(Date.now() + (at - quotaNow()));
}
