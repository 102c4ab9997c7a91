import type { MiddlewareStack } from '@smithy/types';
import { stackEntryOptions } from './middleware.js';

type Options = Readonly<Record<string, unknown>>;
/** An entry as the stack hands it out when cloned: its middleware and its options. */
type Entry = readonly [middleware: unknown, options: Options];
interface Entries {
  readonly absolute: readonly Entry[];
  readonly relative: readonly Entry[];
}

/** What re-adding needs of a stack (the SDK's `MiddlewareStack`, typed loosely: entries of any step). */
interface Stack {
  add(middleware: unknown, options: object): void;
  addRelativeTo(middleware: unknown, options: object): void;
  remove(middleware: unknown): boolean;
  identify(): string[];
  applyToStack(to: object): void;
}

const METHODS = ['add', 'addRelativeTo', 'remove', 'identify', 'applyToStack'] as const;

function isStack(value: unknown): value is Stack {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return METHODS.every((m) => typeof v[m] === 'function');
}

/** The stack's entries, in order: the SDK's stack clones itself onto whatever it is applied to. */
function read(stack: Stack): Entries {
  const absolute: Entry[] = [];
  const relative: Entry[] = [];
  stack.applyToStack({
    add: (middleware: unknown, options: Options) => absolute.push([middleware, { ...options }]),
    addRelativeTo: (middleware: unknown, options: Options) => relative.push([middleware, { ...options }]),
    identifyOnResolve: () => false,
  });
  return { absolute, relative };
}

/** Every name and alias appears once (re-adding a stack that has one twice would drop or refuse an entry). */
function uniqueNames({ absolute, relative }: Entries): boolean {
  const seen = new Set<string>();
  for (const [, o] of [...absolute, ...relative]) {
    const aliases: unknown = o.aliases;
    const names = [o.name, ...(Array.isArray(aliases) ? (aliases as unknown[]) : [])];
    for (const n of names) {
      if (typeof n !== 'string' || n === '') continue;
      if (seen.has(n)) return false;
      seen.add(n);
    }
  }
  return true;
}

const sameList = (a: readonly Entry[], b: readonly Entry[]): boolean => a.length === b.length && a.every(([m, o], i) => b[i]?.[0] === m && b[i]?.[1].name === o.name);

/** Each step on its own: a stack that fails one step (not the SDK's) is put back as far as it lets. */
function attempt(step: () => void): void {
  try {
    step();
  } catch {
    // Best effort (see reshapeMiddlewareStack).
  }
}

/**
 * Re-adds every entry now on a middleware stack (a client's `middlewareStack`) with an empty
 * `before` and `after`, as the plugin adds its own (see `stackEntryOptions`): in the same order,
 * with the same names, steps, priorities, relations and tags. The SDK rebuilds its handler chain
 * on every call and, for each entry that lacks those two properties, V8 makes two new hidden
 * classes per call (runtime work, inline-cache misses, old-space garbage); reshaped, it makes
 * none. The chain the stack resolves is the same. Entries added later (and a command's own, added
 * per call) are left as they are: call it after the last `use`/`add`.
 *
 * Opt-in, for any SDK v3 client, with or without the plugin. Returns how many entries it re-added.
 * It returns 0 and changes nothing when every entry already has both properties, when the value is
 * not a stack it can read back, or when a name or alias appears on two entries (the SDK would drop
 * or refuse one of them on re-adding). If the stack it re-added does not read back the same
 * (entries, order, names, `identify()`), the original entries are put back and it returns 0. It
 * never throws. A stack that is not the SDK's and throws from `add` or `remove` partway is put back
 * as far as it allows (entries it will not remove stay; entries it let go are added again).
 */
export function reshapeMiddlewareStack<Input extends object, Output extends object>(middlewareStack: MiddlewareStack<Input, Output>): number {
  const stack: unknown = middlewareStack;
  if (!isStack(stack)) return 0;
  let original: Entries;
  let identified: string;
  try {
    original = read(stack);
    identified = stack.identify().join('\n');
  } catch {
    return 0;
  }
  const all = [...original.absolute, ...original.relative];
  if (all.every(([, o]) => Array.isArray(o.before) && Array.isArray(o.after)) || !uniqueNames(original)) return 0;
  try {
    for (const [m] of all) stack.remove(m);
    for (const [m, o] of original.absolute) stack.add(m, stackEntryOptions(o));
    for (const [m, o] of original.relative) stack.addRelativeTo(m, stackEntryOptions(o));
    const now = read(stack);
    if (sameList(now.absolute, original.absolute) && sameList(now.relative, original.relative) && stack.identify().join('\n') === identified) return all.length;
  } catch {
    // Put back below.
  }
  for (const [m] of all) attempt(() => stack.remove(m));
  // What a stack refused to let go of stays; only what is gone is added again (never twice).
  let left: readonly Entry[] = [];
  attempt(() => {
    const now = read(stack);
    left = [...now.absolute, ...now.relative];
  });
  const gone = ([m, o]: Entry): boolean => !left.some(([lm, lo]) => lm === m && lo.name === o.name);
  for (const e of original.absolute) if (gone(e)) attempt(() => { stack.add(e[0], e[1]); });
  for (const e of original.relative) if (gone(e)) attempt(() => { stack.addRelativeTo(e[0], e[1]); });
  return 0;
}
