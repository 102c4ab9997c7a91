import { OnceReporter } from '../diagnostics.js';
import { ConfigurationError } from '../errors/configuration-error.js';
import type { Attribution } from '../record.js';
import { detached } from '../detached.js';
import { keyPart } from '../key-part.js';
import { sliceWhole } from '../unicode.js';
import { labelName, normalizeKey } from './keys.js';
import { mapEntries, shapeOf } from './shape.js';

/** Longest attribution value kept; longer values are cut (values are untrusted data). */
export const MAX_ATTRIBUTION_VALUE_LENGTH = 128;
/** Most keys one attribution keeps: the last ones; the rest are dropped (keys can come from request data). */
export const MAX_ATTRIBUTION_KEYS = 32;

export const EMPTY_ATTRIBUTION: Attribution = Object.freeze({});

const reporter = new OnceReporter();

type OnInvalid = (key: string, problem: string) => void;

// Node ≥ 20 has String.prototype.toWellFormed (ES2024; the project's `lib` is ES2023).
const wellFormed = (s: string): string => (s as string & { toWellFormed(): string }).toWellFormed();

/**
 * Bounds an untrusted attribution value: never throws; numbers and booleans are converted, long
 * values cut to 128 UTF-16 units (before a surrogate pair, never inside one), lone surrogates
 * replaced by U+FFFD. Values are well-formed, so every store (Redis writes U+FFFD for a lone
 * surrogate) keeps the same values apart.
 */
export function boundValue(value: unknown): string | undefined {
  let s: string;
  if (typeof value === 'string') s = value;
  else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') s = String(value);
  else return undefined;
  if (s.length <= MAX_ATTRIBUTION_VALUE_LENGTH) return wellFormed(s);
  // One unit past the limit is enough to tell whether the last kept unit starts a pair. A copy:
  // a cut is a view of the whole value, which interned attributions would keep alive.
  return detached(sliceWhole(wellFormed(s.slice(0, MAX_ATTRIBUTION_VALUE_LENGTH + 1)), MAX_ATTRIBUTION_VALUE_LENGTH));
}

// Attributions are interned by content: a request scope with the same keys and values gets the
// same frozen object, so every cache downstream (merged scopes, metric attribute sets) keyed by
// identity hits. The content id is each key and value as a `keyPart` (length-prefixed), so no
// untrusted value can forge the id of another attribution. Bounded with two generations: when
// the young one fills up, it becomes the old one and the old is dropped, so values in use
// survive a turnover instead of all being re-interned.
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
function keysOf(attrs: Record<string, unknown>, onInvalid: OnInvalid): string[] {
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

/**
 * The entries one attribution keeps, offered last to first. Keys are told apart by their
 * Prometheus label (`tenant.id` is `tenant_id`); of two spellings of one, the higher rank wins,
 * else the later. The first {@link MAX_ATTRIBUTION_KEYS} distinct keys offered (the last ones of
 * the attribution) are kept; any other key is dropped. Linear in the entries offered (each looked
 * up among at most 32). Kept flat, `label, key, value, rank, raw` per entry.
 */
class Selection {
  private readonly slots: (string | number)[] = [];

  constructor(private readonly onInvalid: OnInvalid) {}

  /** `key` is canonical (from `normalizeKey`): without a dot, it is its own label. */
  offer(raw: string, key: string, value: string): void {
    const label = key.includes('.') ? labelName(key) : key;
    // 2: written as its label (`tenant_id`); 1: as its canonical key, dotted (`tenant.id`); 0: an alias (`tenantId`).
    const rank = raw !== key ? 0 : key === label ? 2 : 1;
    const slots = this.slots;
    let i = 0;
    while (i < slots.length && slots[i] !== label) i += 5;
    if (i === slots.length) {
      if (i >= 5 * MAX_ATTRIBUTION_KEYS) this.onInvalid(raw, `is past the ${MAX_ATTRIBUTION_KEYS}-key limit of one attribution (the last ${MAX_ATTRIBUTION_KEYS} keys are kept)`);
      else slots.push(label, key, value, rank, raw);
      return;
    }
    const kept = slots[i + 1] as string;
    // The kept spelling came later: it stays unless this one is written more exactly.
    if (rank <= (slots[i + 3] as number)) {
      if (kept !== key) this.onInvalid(raw, `is exported to Prometheus as "${label}", like "${kept}", which wins`);
      return;
    }
    if (kept !== key) this.onInvalid(slots[i + 4] as string, `is exported to Prometheus as "${label}", like "${key}", which wins`);
    slots[i + 1] = key;
    slots[i + 2] = value;
    slots[i + 3] = rank;
    slots[i + 4] = raw;
  }

  /** The kept entries in the attribution's order (offered last to first), interned. */
  build(): Attribution {
    const slots = this.slots;
    if (slots.length === 0) return EMPTY_ATTRIBUTION;
    let id = '';
    for (let i = slots.length - 5; i >= 0; i -= 5) {
      const value = slots[i + 2] as string;
      id += keyPart(slots[i + 1] as string) + keyPart(value);
    }
    const hit = internedGet(id);
    if (hit !== undefined) return hit;
    const out: Record<string, string> = {};
    for (let i = slots.length - 5; i >= 0; i -= 5) out[slots[i + 1] as string] = slots[i + 2] as string;
    const frozen = Object.freeze(out);
    internedSet(id, frozen);
    return frozen;
  }
}

function normalize(attrs: Record<string, unknown>, onInvalid: OnInvalid, strictValues = false): Attribution {
  const raws = keysOf(attrs, onInvalid);
  const selection = new Selection(onInvalid);
  // Last to first: the last keys are kept when there are too many (a trusted key written after
  // untrusted ones must not be pushed out by them).
  for (let j = raws.length - 1; j >= 0; j--) {
    const raw = raws[j] as string;
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
    selection.offer(raw, k.key, value);
  }
  return selection.build();
}

/** Reports dropped keys once each, at most 32 per attribution (a 100,000-key object must not log 100,000 lines). */
function dataReporter(): OnInvalid {
  let count = 0;
  return (key, problem) => {
    if (++count <= MAX_ATTRIBUTION_KEYS) reporter.warn(`attribution-key:${key.slice(0, 64)}`, `attribution key "${key.slice(0, 64)}" ${problem}; dropped`);
    else if (count === MAX_ATTRIBUTION_KEYS + 1) reporter.warn('attribution-key:(more)', `an attribution dropped more than ${MAX_ATTRIBUTION_KEYS} keys; the others are not reported`);
  };
}

/**
 * Attribution from call-time data (`withAttribution`, `attribute`, a request's headers): keys are
 * normalised (see `normalizeKey`), values bounded; invalid keys and non-string values are dropped,
 * reported once through OTel `diag`. Of two spellings of one key, the one written exactly as
 * the key wins, else the later; the last 32 keys are kept. Never throws: data must not break a call.
 */
export function attributionFromData(attrs: unknown): Attribution {
  const shape = shapeOf(attrs);
  if (shape === 'map') {
    const entries = mapEntries(attrs as Map<unknown, unknown>);
    if (entries !== undefined) return normalize(entries, dataReporter());
    reporter.warn('attribution-unreadable', 'attribution Map could not be read; ignored');
    return EMPTY_ATTRIBUTION;
  }
  if (shape !== 'object') {
    if (shape === 'unreadable') reporter.warn('attribution-unreadable', 'attribution object could not be read (a revoked Proxy?); ignored');
    else if (attrs !== undefined && attrs !== null) reporter.warn('attribution-shape', 'attribution must be an object of key → value; ignored');
    return EMPTY_ATTRIBUTION;
  }
  return normalize(attrs as Record<string, unknown>, dataReporter());
}

/** Attribution from static configuration: like {@link attributionFromData}, but an invalid key throws a `ConfigurationError` naming `field`. */
export function attributionFromConfig(attrs: unknown, field: string): Attribution {
  if (attrs === undefined || attrs === null) return EMPTY_ATTRIBUTION;
  const shape = shapeOf(attrs);
  if (shape === 'unreadable') throw new ConfigurationError(field, 'could not be read (a revoked Proxy?)');
  if (shape !== 'object' && shape !== 'map') throw new ConfigurationError(field, 'must be an object (or Map) of key → string value');
  const entries = shape === 'map' ? mapEntries(attrs as Map<unknown, unknown>) : (attrs as Record<string, unknown>);
  if (entries === undefined) throw new ConfigurationError(field, 'could not be read');
  return normalize(
    entries,
    (key, problem) => {
      throw new ConfigurationError(`${field}.${key}`, `attribution key "${key.slice(0, 80)}" ${problem}`);
    },
    true,
  );
}

// Merges by identity (attributions are frozen and interned, so the same pair comes back per
// request); held weakly, an entry goes with either attribution.
const merges = new WeakMap<Attribution, WeakMap<Attribution, Attribution>>();

/**
 * Merges two attributions, `inner` winning, under the rules of one attribution (`inner`'s keys
 * come later): at most 32 keys, `inner`'s kept first; `tenant_id` and `tenant.id` are one key
 * (the underscore spelling wins). Returns one of them unchanged when the other is empty.
 */
export function mergeAttribution(outer: Attribution, inner: Attribution): Attribution {
  if (inner === EMPTY_ATTRIBUTION) return outer;
  if (outer === EMPTY_ATTRIBUTION) return inner;
  let byInner = merges.get(outer);
  const hit = byInner?.get(inner);
  if (hit !== undefined) return hit;
  const selection = new Selection(dataReporter());
  for (const layer of [inner, outer]) {
    const keys = Object.keys(layer);
    for (let j = keys.length - 1; j >= 0; j--) selection.offer(keys[j] as string, keys[j] as string, layer[keys[j] as string] as string);
  }
  const merged = selection.build();
  if (byInner === undefined) merges.set(outer, (byInner = new WeakMap()));
  byInner.set(inner, merged);
  return merged;
}

/** An attribution's value for `key`, own properties only (never `constructor` or other inherited members). */
export function attributionValue(attribution: Attribution, key: string): string | undefined {
  return Object.hasOwn(attribution, key) ? attribution[key] : undefined;
}
