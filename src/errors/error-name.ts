/** The name to record for a failure: the exception's `name` (e.g. `ThrottlingException`), bounded. */
export function errorName(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && name.length > 0) return name.length > 64 ? name.slice(0, 64) : name;
  }
  return 'Error';
}
