import { ConfigurationError } from './errors/configuration-error.js';

/** Shared validators for configuration: each throws a {@link ConfigurationError} naming `field`. */

export function assertObject(value: unknown, field: string): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigurationError(field, 'must be an object');
}

export function assertFunction(value: unknown, field: string): void {
  if (value !== undefined && typeof value !== 'function') throw new ConfigurationError(field, 'must be a function');
}

export function assertModelId(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) throw new ConfigurationError(field, 'must be a non-empty model id');
}

export function nonNegative(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new ConfigurationError(field, 'must be a finite number ≥ 0');
  return value;
}

export function optionalPositive(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new ConfigurationError(field, 'must be a positive number');
  return value;
}

export function positive(value: unknown, fallback: number, field: string): number {
  return optionalPositive(value, field) ?? fallback;
}

export function positiveInteger(value: unknown, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw new ConfigurationError(field, 'must be a positive integer');
  return value;
}

/** The longest delay a Node timer can wait (2^31 − 1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/** A positive integer number of milliseconds that a timer will wait: no more than {@link MAX_TIMER_MS}. */
export function timerMs(value: unknown, fallback: number, field: string): number {
  const ms = positiveInteger(value, fallback, field);
  if (ms > MAX_TIMER_MS) throw new ConfigurationError(field, `must be at most ${MAX_TIMER_MS} ms (about 24.8 days): a longer timer fires at once`);
  return ms;
}

export function boolean(value: unknown, fallback: boolean, field: string): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ConfigurationError(field, 'must be a boolean');
  return value;
}

export function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T, field: string): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly unknown[]).includes(value)) throw new ConfigurationError(field, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
  return value as T;
}

/** Own entries of a plain configuration object (never inherited members such as `constructor`). */
export function ownEntries(value: Record<string, unknown>): [string, unknown][] {
  return Object.keys(value).map((k) => [k, value[k]]);
}

/**
 * Throws when `value` has a key not in `known`, naming it and the closest known key: a
 * misspelt option (`budget` for `budgets`) must not silently do nothing.
 */
export function assertKnownKeys(value: Record<string, unknown>, known: readonly string[], field: string): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const near = closest(key, known);
    const at = field === '' ? key : `${field}.${key}`;
    throw new ConfigurationError(at, `is not an option${near === undefined ? '' : ` (did you mean "${near}"?)`}; known: ${known.join(', ')}`);
  }
}

function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const k = key.toLowerCase();
  for (const candidate of known) {
    const d = distance(k, candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

/** Levenshtein distance (short strings: option names). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = cur;
  }
  return prev[b.length] ?? 0;
}
