/** Base class of every error this library throws. */
export class FinOpsError extends Error {
  override name = 'FinOpsError';
}

/** Whether `error` is one of this library's errors (branded; works across realms and duplicate installs). */
export function isFinOpsError(error: unknown): boolean {
  return error instanceof FinOpsError || brandOf(error) !== undefined;
}

const BRAND = Symbol.for('bedrock-finops.error');

/** Marks an error class instance so guards work across realms and duplicate installs. */
export function brand(error: Error, kind: string): void {
  Object.defineProperty(error, BRAND, { value: kind, enumerable: false });
}

/** The brand of an error from this library, if it has one. */
export function brandOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const kind = (error as Record<symbol, unknown>)[BRAND];
  return typeof kind === 'string' ? kind : undefined;
}
