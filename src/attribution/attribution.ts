import { AsyncLocalStorage } from 'node:async_hooks';
import type { Attribution } from '../record.js';
import { ConfigurationError } from '../errors/configuration-error.js';

/** Longest attribution value kept; longer values are cut (values are untrusted data). */
export const MAX_ATTRIBUTION_VALUE_LENGTH = 128;
/** Longest attribution key. */
export const MAX_ATTRIBUTION_KEY_LENGTH = 64;
/** Key prefixes that belong to OpenTelemetry semantic conventions and cannot be attribution keys. */
export const RESERVED_KEY_PREFIXES: readonly string[] = [
  'gen_ai.',
  'server.',
  'error.',
  'aws.',
  'bedrock_finops.',
  'otel.',
  'telemetry.',
  'service.',
];

const KEY = /^[a-z][a-z0-9_.]*$/;
const EMPTY: Attribution = Object.freeze({});

// Keys are configuration, so a process sees few of them: remember the valid ones (bounded).
const validKeys = new Set<string>();

/** Throws a {@link ConfigurationError} naming `parent.key` when `key` cannot be an attribution key. */
export function assertAttributionKey(key: string, parent: string): void {
  if (validKeys.has(key)) return;
  const field = `${parent}.${key}`;
  if (key.length === 0) throw new ConfigurationError(field, 'an attribution key must not be empty');
  if (key.length > MAX_ATTRIBUTION_KEY_LENGTH)
    throw new ConfigurationError(field, `attribution key "${key.slice(0, 80)}" is longer than ${MAX_ATTRIBUTION_KEY_LENGTH} characters`);
  if (!KEY.test(key))
    throw new ConfigurationError(field, `attribution key "${key}" must match [a-z][a-z0-9_.]* (lower case, digits, "_" and ".")`);
  const reserved = RESERVED_KEY_PREFIXES.find((p) => key.startsWith(p));
  if (reserved !== undefined)
    throw new ConfigurationError(field, `attribution key "${key}" is in the reserved namespace "${reserved}"`);
  if (validKeys.size < 10_000) validKeys.add(key);
}

/** Bounds an untrusted attribution value: never throws; non-strings are converted, long values cut. */
export function boundValue(value: unknown): string | undefined {
  let s: string;
  if (typeof value === 'string') s = value;
  else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') s = String(value);
  else return undefined;
  return s.length > MAX_ATTRIBUTION_VALUE_LENGTH ? s.slice(0, MAX_ATTRIBUTION_VALUE_LENGTH) : s;
}

/**
 * Validates keys (throws, naming `field`) and bounds values (never throws) of a caller-supplied
 * attribution, returning a frozen copy. Entries whose value is not a string, number or boolean are dropped.
 */
export function normalizeAttribution(attrs: unknown, field: string): Attribution {
  if (attrs === undefined || attrs === null) return EMPTY;
  if (typeof attrs !== 'object' || Array.isArray(attrs)) throw new ConfigurationError(field, 'attribution must be an object of key → string value');
  const out: Record<string, string> = {};
  let any = false;
  const source = attrs as Record<string, unknown>;
  for (const key in source) {
    if (!Object.hasOwn(source, key)) continue;
    assertAttributionKey(key, field);
    const v = boundValue(source[key]);
    if (v !== undefined) {
      out[key] = v;
      any = true;
    }
  }
  return any ? Object.freeze(out) : EMPTY;
}

/** Merges two attributions, `inner` winning; returns one of them unchanged when the other is empty. */
export function mergeAttribution(outer: Attribution, inner: Attribution): Attribution {
  if (inner === EMPTY) return outer;
  if (outer === EMPTY) return inner;
  return Object.freeze({ ...outer, ...inner });
}

const scope = new AsyncLocalStorage<Attribution>();

/** The attribution of the current `withAttribution` scope (already merged across nesting), if any. */
export function currentScopeAttribution(): Attribution | undefined {
  return scope.getStore();
}

/**
 * Runs `fn` with `attrs` attributed to every Bedrock call made inside it, including calls made
 * after `await`s, in timers, and streams consumed later. Scopes nest and merge; the inner value
 * wins. Keys are checked (an invalid key throws before `fn` runs); values are bounded, never rejected.
 *
 * @example
 * await withAttribution({ feature: 'autocomplete', tenant: req.tenantId }, () => client.send(cmd));
 */
export function withAttribution<T>(attrs: Readonly<Record<string, string>>, fn: () => T): T {
  const own = normalizeAttribution(attrs, 'withAttribution');
  const outer = scope.getStore();
  return scope.run(outer === undefined ? own : mergeAttribution(outer, own), fn);
}

const overrides = new WeakMap<object, Attribution>();

/**
 * Attributes one command: its attribution wins over the plugin defaults and any
 * `withAttribution` scope. Returns the same command, so it can wrap `new XCommand(...)` inline.
 *
 * @example
 * await client.send(attribute(new ConverseCommand(input), { feature: 'summarize' }));
 */
export function attribute<C extends { readonly input: object }>(command: C, attrs: Readonly<Record<string, string>>): C {
  const own = normalizeAttribution(attrs, 'attribute');
  const previous = overrides.get(command);
  // Keyed by the command, not its input: callers reuse one input object for many commands.
  overrides.set(command, previous === undefined ? own : mergeAttribution(previous, own));
  return command;
}

/**
 * The per-command attribution set with {@link attribute}. The initialize step's arguments are
 * the command object itself (smithy calls the resolved handler with the command).
 */
export function commandAttribution(args: object): Attribution | undefined {
  return overrides.get(args);
}

export { EMPTY as EMPTY_ATTRIBUTION };
