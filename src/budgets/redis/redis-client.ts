import type { Script } from './scripts.js';

/**
 * The two Redis clients the store accepts, described by shape only (no dependency on either):
 * ioredis, standalone or `Cluster` (`evalsha(sha, numKeys, ...keysAndArgs)`), and node-redis
 * v4+, client or cluster (`evalSha(sha, { keys, arguments })`).
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

/**
 * Runs a script by SHA, loading it with EVAL when the server answers NOSCRIPT (after `SCRIPT FLUSH`
 * or a restart). When EVALSHA itself is refused for permission (an ACL user with `-evalsha`,
 * NOPERM), the script is sent with EVAL, and from then on always (one round trip per script).
 */
export type ScriptRunner = (script: Script, keys: string[], args: string[]) => Promise<unknown>;

function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : '';
}

const isNoScript = (error: unknown): boolean => messageOf(error).includes('NOSCRIPT');

/** NOPERM about the EVALSHA command (not about a key the script touches: EVAL would be refused too). */
const evalShaRefused = (error: unknown): boolean => {
  const message = messageOf(error);
  return message.includes('NOPERM') && /evalsha/i.test(message);
};

/** NOPERM about the EVAL command itself (`'eval'`, not `'evalsha'`). */
const evalRefused = (error: unknown): boolean => {
  const message = messageOf(error);
  return message.includes('NOPERM') && /'eval'/i.test(message);
};

/**
 * Runs scripts by SHA through `bySha`, by text through `byText` on NOSCRIPT, and only by text once
 * EVALSHA is refused, until EVAL is refused in turn (the user's permissions changed while the
 * process runs: `+evalsha -eval`), which goes back to EVALSHA. A refused command ran nothing, so
 * sending the script the other way never applies it twice.
 */
function runner(bySha: (script: Script, keys: string[], args: string[]) => Promise<unknown>, byText: (script: Script, keys: string[], args: string[]) => Promise<unknown>): ScriptRunner {
  let textOnly = false;
  return async (script, keys, args) => {
    if (textOnly) {
      try {
        return await byText(script, keys, args);
      } catch (error) {
        if (!evalRefused(error)) throw error;
        textOnly = false;
        return bySha(script, keys, args);
      }
    }
    try {
      return await bySha(script, keys, args);
    } catch (error) {
      if (evalShaRefused(error)) textOnly = true;
      else if (!isNoScript(error)) throw error;
      return byText(script, keys, args);
    }
  };
}

/** The client's own key prefix (ioredis's `keyPrefix` option, put before every key it sends), if it has one. */
export function clientKeyPrefix(client: unknown): string | undefined {
  const prefix = (client as { options?: { keyPrefix?: unknown } } | null)?.options?.keyPrefix;
  if (typeof prefix === 'string') return prefix;
  return prefix instanceof Uint8Array ? Buffer.from(prefix).toString('latin1') : undefined;
}

/**
 * Why the client cannot run the store's scripts, or `undefined`: a connection in subscriber mode
 * (ioredis `mode`, node-redis `isPubSubActive` over RESP2) or monitor mode refuses every other
 * command, in the client itself: the store saw an outage that never ends.
 */
export function clientModeProblem(client: unknown): string | undefined {
  const c = client as { mode?: unknown; isPubSubActive?: unknown; options?: { RESP?: unknown } } | null;
  if (c === null || typeof c !== 'object') return undefined;
  // Over RESP3 a subscribed node-redis connection still runs commands.
  const subscribed = c.mode === 'subscriber' || (c.isPubSubActive === true && c.options?.RESP !== 3);
  const mode = subscribed ? 'subscriber' : c.mode === 'monitor' ? 'monitor' : undefined;
  return mode === undefined ? undefined : `is in ${mode} mode, where Redis clients run no other command (scripts included): give the store a connection of its own (ioredis \`client.duplicate()\`)`;
}

/**
 * Whether the client talks to one Redis server (an ioredis `Redis`, a node-redis client): then
 * one answer or failure speaks for every key. A Cluster client, or any other shape, may reach
 * each slot through a different node.
 */
export function isSingleNode(client: unknown): boolean {
  const c = client as { isCluster?: unknown; evalSha?: unknown; duplicate?: unknown; getSlotMaster?: unknown } | null;
  if (c === null || typeof c !== 'object') return false;
  if (c.isCluster === false) return true;
  return typeof c.evalSha === 'function' && typeof c.duplicate === 'function' && typeof c.getSlotMaster !== 'function' && !('masters' in c);
}

/** Wraps either client in one way to run scripts; throws a `TypeError` for anything else. */
export function scriptRunner(client: unknown): ScriptRunner {
  const c = client as Partial<IoRedisLike> & Partial<NodeRedisLike>;
  if (typeof c.evalSha === 'function' && typeof c.eval === 'function') {
    const node = client as NodeRedisLike;
    return runner(
      (script, keys, args) => node.evalSha(script.sha, { keys, arguments: args }),
      (script, keys, args) => node.eval(script.source, { keys, arguments: args }),
    );
  }
  if (typeof c.evalsha === 'function' && typeof c.eval === 'function') {
    const io = client as IoRedisLike;
    return runner(
      (script, keys, args) => io.evalsha(script.sha, keys.length, ...keys, ...args),
      (script, keys, args) => io.eval(script.source, keys.length, ...keys, ...args),
    );
  }
  throw new TypeError('client must be an ioredis client or Cluster (evalsha/eval) or a node-redis v4+ client or cluster (evalSha/eval)');
}
