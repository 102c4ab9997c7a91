import { AsyncLocalStorage } from 'node:async_hooks';
import type { Attribution } from '../record.js';
import { attributionFromData, mergeAttribution } from './normalize.js';

const scope = new AsyncLocalStorage<Attribution>();

/** The attribution of the current `withAttribution` scope (already merged across nesting), if any. */
export function currentScopeAttribution(): Attribution | undefined {
  return scope.getStore();
}

/**
 * Runs `fn` with `attrs` attributed to every Bedrock call made inside it, including calls made
 * after `await`s, in timers, and streams consumed later. Scopes nest and merge; the inner value
 * wins. Attribution is data: keys are normalised to snake_case (`tenantId` → `tenant_id`),
 * values bounded to 128 characters; invalid keys are dropped (reported once), never thrown.
 * `attrs` may be a plain object or a Map.
 *
 * @example
 * await withAttribution({ feature: 'autocomplete', tenantId: req.tenantId }, () => client.send(cmd));
 */
export function withAttribution<T>(attrs: Readonly<Record<string, string>> | ReadonlyMap<string, string>, fn: () => T): T {
  const own = attributionFromData(attrs);
  const outer = scope.getStore();
  return scope.run(outer === undefined ? own : mergeAttribution(outer, own), fn);
}

const overrides = new WeakMap<object, Attribution>();

/**
 * Attributes one command: its attribution wins over the plugin defaults and any
 * `withAttribution` scope. Returns the same command, so it can wrap `new XCommand(...)` inline.
 * Keys and values are treated like `withAttribution`'s.
 *
 * @example
 * await client.send(attribute(new ConverseCommand(input), { feature: 'summarize' }));
 */
export function attribute<C extends { readonly input: object }>(command: C, attrs: Readonly<Record<string, string>> | ReadonlyMap<string, string>): C {
  const own = attributionFromData(attrs);
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
