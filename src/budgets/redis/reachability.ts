import { diag } from '@opentelemetry/api';
import { hashedPart } from './keys.js';
import { isSingleNode } from './redis-client.js';

/**
 * Which parts of Redis a store's round trips show unreachable: one part for a client of one
 * server; on a Cluster (or a client of unknown shape) one part per hashed key part, that is per
 * slot a budget's or quota's keys live in, so a paused or failing node makes only the budgets
 * whose slots it serves unavailable while the others keep being asked. A part is unreachable
 * after a script on it fails or stays unanswered past `storeTimeoutMs`, reachable again at its
 * next answer. An error *reply* (`NOPERM` about a key, `WRONGTYPE`, `OOM`: the server answered
 * at once, about this script) marks only the hashed part of the key, also on one server: an ACL
 * that covers some budgets' keys, or one damaged key, must not make every budget fail fast.
 */
/** Whether `error` is a Redis error reply (its message starts with an error code such as `NOPERM`, `WRONGTYPE`, `ERR`), not a lost connection. */
export function isErrorReply(error: unknown): boolean {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' && /^[A-Z]{2,}[A-Z_]* /.test(message);
}

export class Reachability {
  private readonly down = new Set<string>();
  private readonly partOf: (key: string) => string;

  constructor(
    client: unknown,
    /** 'budget' or 'quota', for the log lines. */
    private readonly store: string,
    /** What happens meanwhile, for the log line. */
    private readonly meanwhile: string,
  ) {
    this.partOf = isSingleNode(client) ? () => '' : hashedPart;
  }

  /** The part of Redis holding `key` (`''` for a client of one server). */
  part(key: string): string {
    return this.partOf(key);
  }

  /** Whether some part of Redis is unreachable now. */
  get anyDown(): boolean {
    return this.down.size > 0;
  }

  /** Whether the part of Redis holding `key` is unreachable now. */
  isDown(key: string): boolean {
    return this.down.size > 0 && (this.down.has(this.partOf(key)) || this.down.has(hashedPart(key)));
  }

  private where(part: string): string {
    return part === '' ? '' : ` for the keys tagged {${part}}`;
  }

  /** A script on `key` was answered. */
  up(key: string): void {
    if (this.down.size === 0) return;
    for (const part of new Set([this.partOf(key), hashedPart(key)]))
      if (this.down.delete(part)) diag.info(`bedrock-finops: the Redis ${this.store} store is reachable again${this.where(part)}`);
  }

  /** A script on `key` failed (`error`) or went unanswered (`why`). */
  goDown(key: string, why: string, error?: unknown): void {
    const part = isErrorReply(error) ? hashedPart(key) : this.partOf(key);
    if (this.down.has(part)) return;
    this.down.add(part);
    diag.warn(`bedrock-finops: the Redis ${this.store} store is unreachable${this.where(part)} (${why}); ${this.meanwhile}`);
  }
}
