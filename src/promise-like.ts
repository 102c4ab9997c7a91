/** Whether `v` is a promise (or another thenable): what a hook, a store or an estimator may answer with instead of a value. */
export function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | undefined)?.then === 'function';
}

/**
 * Reports the rejection of what a user's callback returned, when it returned a promise (an async
 * `onUsage` or `onBudgetEvent`): left unhandled, a rejection ends a Node process by default.
 */
export function reportRejection(returned: unknown, report: (error: unknown) => void): void {
  if (isPromise(returned)) returned.then(undefined, report);
}
