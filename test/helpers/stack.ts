/** An entry's options as a middleware stack hands them out when it clones itself. */
export type EntryOptions = Record<string, unknown>;

/** A middleware stack's own entries, read through its clone (`applyToStack`): [middleware, options], absolute then relative. */
export function stackEntries(stack: unknown): [unknown, EntryOptions][] {
  const out: [unknown, EntryOptions][] = [];
  const reader = { add: (m: unknown, o: EntryOptions) => out.push([m, o]), addRelativeTo: (m: unknown, o: EntryOptions) => out.push([m, o]), identifyOnResolve: () => false };
  (stack as { applyToStack(to: unknown): void }).applyToStack(reader);
  return out;
}

/** How many of a stack's entries carry their own `before` and `after` arrays. */
export const shapedCount = (stack: unknown): number => stackEntries(stack).filter(([, o]) => Array.isArray(o.before) && Array.isArray(o.after)).length;
