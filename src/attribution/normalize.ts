import { OnceReporter } from '../diagnostics.js';
import { ConfigurationError } from '../errors/configuration-error.js';
import type { Attribution } from '../record.js';
import { normalizeKey } from './keys.js';

/** Longest attribution value kept; longer values are cut (values are untrusted data). */
export const MAX_ATTRIBUTION_VALUE_LENGTH = 128;
/** Most keys one attribution keeps; the rest are dropped (keys can come from request data). */
export const MAX_ATTRIBUTION_KEYS = 32;

export const EMPTY_ATTRIBUTION: Attribution = Object.freeze({});

const reporter = new OnceReporter();

/** Bounds an untrusted attribution value: never throws; numbers and booleans are converted, long values cut. */
export function boundValue(value: unknown): string | undefined {
  let s: string;
  if (typeof value === 'string') s = value;
  else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') s = String(value);
  else return undefined;
  return s.length > MAX_ATTRIBUTION_VALUE_LENGTH ? s.slice(0, MAX_ATTRIBUTION_VALUE_LENGTH) : s;
}

// Attributions are interned by content: a request scope with the same keys and values gets the
// same frozen object, so every cache downstream (merged scopes, metric attribute sets) keyed by
// identity hits. The content id is `key U+0001 length U+0001 value` per entry: keys cannot hold
// U+0001, and a value (untrusted: any character) is read by its length, so no value can forge
// the id of another attribution (`{ team: 'x\u0002b\u0001y' }` is not `{ team: 'x', b: 'y' }`). Bounded with two generations: when the young one fills up, it becomes the old
// one and the old is dropped, so values in use survive a turnover instead of all being re-interned.
let interned = new Map<string, Attribution>();
let older = new Map<string, Attribution>();
const MAX_INTERNED = 8192;

function internedGet(id: string): Attribution | undefined {
  const young = interned.get(id);
  if (young !== undefined) return young;
  const old = older.get(id);
  if (old !== undefined) internedSet(id, old);
  return old;
}

function internedSet(id: string, a: Attribution): void {
  if (interned.size >= MAX_INTERNED) {
    older = interned;
    interned = new Map();
  }
  interned.set(id, a);
}

/** The object's own keys, or none if it cannot tell (a Proxy whose `ownKeys` throws). */
function keysOf(attrs: Record<string, unknown>, onInvalid: (key: string, problem: string) => void): string[] {
  try {
    return Object.keys(attrs);
  } catch {
    onInvalid('(keys)', 'could not be listed (the object threw)');
    return [];
  }
}

/** A property's value, or a problem if reading it throws (a getter from request data). */
function read(attrs: Record<string, unknown>, key: string): { value: unknown } | undefined {
  try {
    return { value: attrs[key] };
  } catch {
    return undefined;
  }
}

function normalize(attrs: Record<string, unknown>, onInvalid: (key: string, problem: string) => void, strictValues = false): Attribution {
  const keys: string[] = [];
  const values: string[] = [];
  let id = '';
  let renamed = false;
  for (const raw of keysOf(attrs, onInvalid)) {
    const got = read(attrs, raw);
    if (got === undefined) {
      onInvalid(raw, 'could not be read (its getter threw)');
      continue;
    }
    const value = boundValue(got.value);
    if (value === undefined) {
      if (strictValues && got.value !== undefined) onInvalid(raw, 'must have a string, number or boolean value');
      continue;
    }
    const k = normalizeKey(raw);
    if (k.key === undefined) {
      onInvalid(raw, k.problem);
      continue;
    }
    const at = keys.indexOf(k.key);
    if (at >= 0) {
      values[at] = value;
      renamed = true;
      continue;
    }
    if (keys.length >= MAX_ATTRIBUTION_KEYS) {
      onInvalid(raw, `is past the ${MAX_ATTRIBUTION_KEYS}-key limit of one attribution`);
      continue;
    }
    keys.push(k.key);
    values.push(value);
    id += `${k.key}\u0001${value.length}\u0001${value}`;
  }
  if (keys.length === 0) return EMPTY_ATTRIBUTION;
  // Two raw keys that normalised alike (the later one wins): the id is rebuilt from the final values.
  if (renamed) {
    id = '';
    for (let i = 0; i < keys.length; i++) id += `${keys[i] as string}\u0001${(values[i] as string).length}\u0001${values[i] as string}`;
  }
  const hit = internedGet(id);
  if (hit !== undefined) return hit;
  const out: Record<string, string> = {};
  for (let i = 0; i < keys.length; i++) out[keys[i] as string] = values[i] as string;
  const frozen = Object.freeze(out);
  internedSet(id, frozen);
  return frozen;
}

/**
 * Attribution from call-time data (`withAttribution`, `attribute`, a request's headers): keys are
 * normalised (see `normalizeKey`), values bounded; invalid keys and non-string values are dropped,
 * reported once through OTel `diag`. Never throws: data must not break a call.
 */
export function attributionFromData(attrs: unknown): Attribution {
  if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs)) {
    if (attrs !== undefined && attrs !== null) reporter.warn('attribution-shape', 'attribution must be an object of key → value; ignored');
    return EMPTY_ATTRIBUTION;
  }
  return normalize(attrs as Record<string, unknown>, (key, problem) => {
    reporter.warn(`attribution-key:${key.slice(0, 64)}`, `attribution key "${key.slice(0, 64)}" ${problem}; dropped`);
  });
}

/** Attribution from static configuration: like {@link attributionFromData}, but an invalid key throws a `ConfigurationError` naming `field`. */
export function attributionFromConfig(attrs: unknown, field: string): Attribution {
  if (attrs === undefined || attrs === null) return EMPTY_ATTRIBUTION;
  if (typeof attrs !== 'object' || Array.isArray(attrs)) throw new ConfigurationError(field, 'must be an object of key → string value');
  return normalize(
    attrs as Record<string, unknown>,
    (key, problem) => {
      throw new ConfigurationError(`${field}.${key}`, `attribution key "${key.slice(0, 80)}" ${problem}`);
    },
    true,
  );
}

/** Merges two attributions, `inner` winning; returns one of them unchanged when the other is empty. */
export function mergeAttribution(outer: Attribution, inner: Attribution): Attribution {
  if (inner === EMPTY_ATTRIBUTION) return outer;
  if (outer === EMPTY_ATTRIBUTION) return inner;
  return Object.freeze({ ...outer, ...inner });
}

/** An attribution's value for `key`, own properties only (never `constructor` or other inherited members). */
export function attributionValue(attribution: Attribution, key: string): string | undefined {
  return Object.hasOwn(attribution, key) ? attribution[key] : undefined;
}
