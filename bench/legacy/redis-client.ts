/** The per-call store's script runner (frozen copy, see ./redis-budget-store.ts). */
/**
 * The two Redis clients the store accepts, described by shape only (no dependency on either):
 * ioredis (`evalsha(sha, numKeys, ...keysAndArgs)`) and node-redis v4+ (`evalSha(sha, { keys, arguments })`).
 */
export interface IoRedisLike {
  evalsha(sha: string, numKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  eval(script: string, numKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
}

export interface NodeRedisLike {
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

export type RedisClientLike = IoRedisLike | NodeRedisLike;

/** Runs a script by SHA, loading it with EVAL when the server answers NOSCRIPT. */
export type ScriptRunner = (sha: string, script: string, keys: string[], args: string[]) => Promise<unknown>;

function isNoScript(error: unknown): boolean {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' && message.includes('NOSCRIPT');
}

/** Wraps either client in one way to run scripts; throws a `TypeError` for anything else. */
export function scriptRunner(client: unknown): ScriptRunner {
  const c = client as Partial<IoRedisLike> & Partial<NodeRedisLike>;
  if (typeof c.evalSha === 'function') {
    const node = client as NodeRedisLike;
    return async (sha, script, keys, args) => {
      try {
        return await node.evalSha(sha, { keys, arguments: args });
      } catch (error) {
        if (!isNoScript(error)) throw error;
        return node.eval(script, { keys, arguments: args });
      }
    };
  }
  if (typeof c.evalsha === 'function' && typeof c.eval === 'function') {
    const io = client as IoRedisLike;
    return async (sha, script, keys, args) => {
      try {
        return await io.evalsha(sha, keys.length, ...keys, ...args);
      } catch (error) {
        if (!isNoScript(error)) throw error;
        return io.eval(script, keys.length, ...keys, ...args);
      }
    };
  }
  throw new TypeError('client must be an ioredis client (evalsha/eval) or a node-redis v4+ client (evalSha/eval)');
}
