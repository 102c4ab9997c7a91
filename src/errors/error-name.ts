import { detached } from '../detached.js';

/** Longest error name recorded. */
export const MAX_ERROR_NAME_LENGTH = 64;

// What an exception name is made of (`ThrottlingException`, `AbortError`, a status code such as
// `502`): names come from responses (an error code in the body, `x-amzn-errortype`), and one that
// is prose (a gateway answering `{ code: "…the prompt…" }`) or holds a lone surrogate (which an
// OTLP exporter writes as invalid UTF-8) is no name: it is recorded as `Error`.
const NAME = /^[A-Za-z0-9_.$-]+$/;

/**
 * The name to record for a failure: the exception's `name` (e.g. `ThrottlingException`), cut to
 * 64 characters; `Error` when it has none, or when what it has is not a name. Never throws (a
 * getter or Proxy from a user's code may), and only runs for calls that failed.
 */
export function errorName(error: unknown): string {
  let name: unknown;
  try {
    name = typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
  } catch {
    return 'Error';
  }
  if (typeof name !== 'string' || name.length === 0) return 'Error';
  if (name.length <= MAX_ERROR_NAME_LENGTH) return NAME.test(name) ? name : 'Error';
  // A copy of the cut: it is kept (a metric series' error.type), and a cut is a view of the whole name.
  const cut = name.slice(0, MAX_ERROR_NAME_LENGTH);
  return NAME.test(cut) ? detached(cut) : 'Error';
}
