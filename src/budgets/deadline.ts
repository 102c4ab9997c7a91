/** `promise`, or a rejection once `ms` have passed (the timer never keeps the process alive). */
export function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(Object.assign(new Error(`the estimator did not answer within ${ms} ms`), { name: 'EstimatorTimeout' }));
    }, ms);
    timer.unref();
  });
  return Promise.race([promise, deadline]).finally(() => {
    clearTimeout(timer);
  });
}
