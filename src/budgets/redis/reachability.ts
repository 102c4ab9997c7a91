import { diag } from '@opentelemetry/api';
import { hashedPart } from './keys.js';
import { isSingleNode } from './redis-client.js';
import { keySlot, slotOwner } from './slot.js';

/** A budget's or quota's part of Redis by its hash tag (its slot), where the node is not known. */
const tagPart = (key: string): string => `tag ${hashedPart(key)}`;
const nodePart = (address: string | undefined): string | undefined => (address === undefined ? undefined : `node ${address}`);

/**
 * Error replies about the server's state, not about the script's keys: it runs another script
 * (`BUSY`), loads its data (`LOADING`), has lost its master or the cluster (`MASTERDOWN`,
 * `CLUSTERDOWN`, `TRYAGAIN`), became a replica (`READONLY`), or cannot persist (`MISCONF`). Like
 * silence, they count for the whole part of Redis, and probes find when they end.
 */
const SERVER_STATE = /^(?:BUSY|LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY|NOREPLICAS|MISCONF) /;

/** Whether `error` is a Redis error reply about the script's keys (a code such as `NOPERM`, `WRONGTYPE`, `ERR`), not a lost connection or a server that cannot serve anyone now. */
export function isErrorReply(error: unknown): boolean {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' && /^[A-Z]{2,}[A-Z_]* /.test(message) && !SERVER_STATE.test(message);
}

/**
 * Which parts of Redis a store's round trips show unreachable: one part for a client of one
 * server; on a Cluster, one part per node, found through the client's own slots table (ioredis
 * `Cluster#slots`, node-redis `cluster.slots`), so a paused or failing node costs one
 * `storeTimeoutMs` for all the budgets and quotas it serves while the others keep being asked.
 * A client of unknown shape, or a slot the table does not know yet, falls back to one part per
 * hashed key part (per budget's slot: each pays its own timeout). A part is unreachable after a
 * script on it fails or stays unanswered past `storeTimeoutMs`, reachable again at its next
 * answer. An error *reply* (`NOPERM` about a key, `WRONGTYPE`, `OOM`: the server answered at
 * once, about this script) marks only the hashed part of the key, also on one server: an ACL
 * that covers some budgets' keys, or one damaged key, must not make every budget fail fast.
 */
export class Reachability {
  /** Each unreachable part, with a key known to live in it when it went down and whether an error reply (not silence) put it there. */
  private readonly down = new Map<string, { readonly key: string; readonly byReply: boolean }>();
  private readonly partOf: (key: string) => string;

  constructor(
    client: unknown,
    /** 'budget' or 'quota', for the log lines. */
    private readonly store: string,
    /** What happens meanwhile, for the log line. */
    private readonly meanwhile: string,
  ) {
    const owner = isSingleNode(client) ? undefined : slotOwner(client);
    this.partOf = isSingleNode(client) ? () => '' : owner === undefined ? tagPart : (key) => nodePart(owner(keySlot(key))) ?? tagPart(key);
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
    return this.down.size > 0 && (this.down.has(this.partOf(key)) || this.down.has(tagPart(key)));
  }

  /** Whether `key`'s budget drew an error reply (its part of Redis answers: only a script on it tells when that stops). */
  isRefused(key: string): boolean {
    return this.down.get(tagPart(key))?.byReply === true;
  }

  /** The parts that went silent or failed (not by an error reply), each with a key that lived in it then: what a probe asks. */
  silentParts(): [part: string, key: string][] {
    return [...this.down].flatMap(([part, d]) => (d.byReply ? [] : [[part, d.key] as [string, string]]));
  }

  private where(part: string): string {
    return part === '' ? '' : part.startsWith('node ') ? ` on the Cluster node ${part.slice(5)}` : ` for the keys tagged {${part.slice(4)}}`;
  }

  /** A script on `key` was answered (`also`: a part a probe through `key` asked about, which the key may have left since: a failover). */
  up(key: string, also?: string): void {
    if (this.down.size === 0) return;
    for (const part of new Set([this.partOf(key), tagPart(key), ...(also === undefined ? [] : [also])]))
      if (this.down.delete(part)) diag.info(`bedrock-finops: the Redis ${this.store} store is reachable again${this.where(part)}`);
  }

  /** A script on `key` failed (`error`) or went unanswered (`why`). */
  goDown(key: string, why: string, error?: unknown): void {
    const byReply = isErrorReply(error);
    const part = byReply ? tagPart(key) : this.partOf(key);
    const known = this.down.get(part);
    if (known !== undefined && (byReply || !known.byReply)) return;
    this.down.set(part, { key, byReply });
    if (known === undefined) diag.warn(`bedrock-finops: the Redis ${this.store} store is unreachable${this.where(part)} (${why}); ${this.meanwhile}`);
  }

  /** A probe through `key` of `part` ended: answered (no `error`), with an error reply (the part answers; `key`'s budget is refused), or not. */
  probed(part: string, key: string, error?: unknown): void {
    if (error !== undefined && !isErrorReply(error)) return;
    this.up(key, part);
    if (error !== undefined) this.goDown(key, error instanceof Error ? error.message : 'an error reply', error);
  }
}
