/**
 * Record ids of the JSON Lines ledger, and what the report does with them. The writer puts
 * `"id":"<writer>.<n>"` first on every line: a random id of the ledger instance (12 base64url
 * characters, 72 bits) and a counter (base 36) it gives each record once, and keeps with the line
 * when the line is written again (a write that failed part-way, or that may have landed in a file
 * another process rotated meanwhile). So the report can tell a record written twice from two
 * records, and a line torn by a failed write from a lost record: both have the same id.
 */
import { createHash, randomBytes } from 'node:crypto';
import { HEADER_START, TORN_ID, TornLines, type HeldTorn } from './torn-lines.js';

export type { HeldTorn } from './torn-lines.js';

/** A new writer id: 12 base64url characters. */
export const newWriterId = (): string => randomBytes(9).toString('base64url');

/** The stored line of a record: the id first (so a torn line still names its record), then the fields. */
export const idField = (writer: string, n: number): string => `${writer}.${n.toString(36)}`;

/** How many of `lines` lie whole in their first `bytes` UTF-8 bytes. */
export function wholeLines(lines: readonly string[], bytes: number): { n: number; torn: number } {
  let n = 0;
  let end = 0;
  for (; n < lines.length; n++) {
    const next = end + Buffer.byteLength(lines[n] ?? '');
    if (next > bytes) break;
    end = next;
  }
  return { n, torn: bytes - end };
}

/**
 * The line (a record's or the header's) to write again after its first `torn` bytes landed: with
 * the tear's length added at its end (`"tornBefore":[150]`). The report matches the torn line to
 * it by those bytes in whichever order it reads them (rotated files in one second are read by
 * process id: the line written again can come first); a torn line that names its record is also
 * matched by its id when it is read first (lines from earlier versions carry no mark then).
 */
export function withTear(line: string, torn: number): string {
  const marked = /,"tornBefore":\[([\d,]+)\]\}\n$/.exec(line);
  return marked === null ? `${line.slice(0, -2)},"tornBefore":[${torn}]}\n` : `${line.slice(0, marked.index)},"tornBefore":[${marked[1] ?? ''},${torn}]}\n`;
}

/**
 * An id as the writer makes it: its counter in base 36 without leading zeros, so one id string is
 * one number (`w.01` is no id of the writer's: parsed, it would pass for `w.1` and drop a record
 * as its duplicate; like any line without a ledger id it is counted, never de-duplicated).
 */
const ID = /^([A-Za-z0-9_-]{12})\.(0|[1-9a-z][0-9a-z]{0,9})$/;
/**
 * A line torn before its id was whole (`{"id":"AbCdE`): it names no record. The writer marks the
 * line it writes again with the tear's length (`"tornBefore":[12]`); such a torn line is matched
 * to one marked line it is a byte prefix of, one for one.
 */
const SHORT_TORN = /^\{(?:"(?:i(?:d(?:"(?::(?:"[A-Za-z0-9_-]{0,12}(?:\.[0-9a-z]{0,10})?)?)?)?)?)?)?$/;

/** Marked headers remembered (a writer marks a header once per tear of it: a handful in a real ledger). */
const MAX_MARKED_HEADERS = 100_000;

/** Ranges inserted in the middle by splicing, past which an isolated counter is kept in a set (a splice moves every range after it). */
const MAX_SPLICED = 1024;

/**
 * Counters seen of one writer: sorted, disjoint half-open ranges (a writer's records come mostly
 * in order: a handful of ranges). Each add is O(log ranges) whatever the order: a counter that
 * joins a range extends it (two ranges left touching, not merged by a splice), one past the last
 * range starts a new one at the end, and an isolated one in the middle (a file whose ids are out
 * of order: hand-made, hostile) is spliced in while the ranges are few, else kept in a set.
 */
class Ranges {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private loose: Set<number> | undefined;

  /** Adds `n`; false when it was there already. */
  add(n: number): boolean {
    const { starts, ends } = this;
    // The last range starting at or before n (the common case: the last one).
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((starts[mid] ?? 0) <= n) lo = mid + 1;
      else hi = mid;
    }
    const i = lo - 1;
    if (i >= 0 && n < (ends[i] ?? 0)) return false;
    if (this.loose?.has(n) === true) return false;
    if (i >= 0 && ends[i] === n) ends[i] = n + 1;
    else if (starts[i + 1] === n + 1) starts[i + 1] = n;
    else if (i + 1 === starts.length) {
      starts.push(n);
      ends.push(n + 1);
    } else if (starts.length < MAX_SPLICED) {
      starts.splice(i + 1, 0, n);
      ends.splice(i + 1, 0, n + 1);
    } else (this.loose ??= new Set()).add(n);
    return true;
  }

  /** The ranges of a writer whose counters so far were 0 to `end` - 1. */
  static upTo(end: number): Ranges {
    const r = new Ranges();
    r.starts.push(0);
    r.ends.push(end);
    return r;
  }
}

/**
 * The ids a report has read. Memory: a few numbers per writer instance (ranges of counters), and
 * the torn lines held (bounded), not one entry per record.
 */
export class RecordIds {
  /**
   * Counters seen per writer: a number `e` when they are 0 to e - 1 (a writer read from its first
   * record in order, nearly every one: ~70 bytes a writer, for a ledger of many short-lived
   * processes), else its {@link Ranges}.
   */
  private readonly seen = new Map<string, number | Ranges>();
  private readonly tears = new TornLines();
  /** Marked header lines read (a hash of each, bounded): a header's marks count once, as a record's do, however many copies of its file are read. */
  private readonly markedHeaders = new Set<string>();

  /**
   * A whole record's line and its `id` field: true the first time the id is read, false when it
   * was read before (the same record written twice: not counted again). Lines without an id (other
   * writers, earlier versions) are always new. A torn line of the same id whose bytes start this
   * line is resolved: it was a write retried whole; so is one torn line for each length in
   * `tornBefore` (the writer's mark) whose bytes start this line, read before this line or after
   * it. A record's marks count once: a copy read again (written again after a rotation) carries
   * the same marks, for the same tears.
   */
  first(id: unknown, line: Buffer, tornBefore?: unknown): boolean {
    const m = typeof id === 'string' ? ID.exec(id) : null;
    const isNew = m === null || this.isNew(m);
    this.tears.whole(line, m === null ? undefined : (id as string), isNew ? tornBefore : undefined);
    return isNew;
  }

  /** A whole header line: resolves its torn first attempts its marks name (a header names no writer: its bytes alone start other processes' headers). */
  header(line: Buffer, tornBefore?: unknown): void {
    this.tears.whole(line, undefined, Array.isArray(tornBefore) && this.firstMarked(line) ? tornBefore : undefined);
  }

  /** Whether this marked header is read for the first time (past the bound its marks are not used: its tears stay torn, the conservative answer). */
  private firstMarked(line: Buffer): boolean {
    if (this.markedHeaders.size >= MAX_MARKED_HEADERS) return false;
    const hash = createHash('sha256').update(line).digest('base64');
    if (this.markedHeaders.has(hash)) return false;
    this.markedHeaders.add(hash);
    return true;
  }

  private isNew(m: RegExpExecArray): boolean {
    const writer = m[1] ?? '';
    const n = Number.parseInt(m[2] ?? '', 36);
    const seen = this.seen.get(writer);
    if (typeof seen === 'number') {
      if (n < seen) return false;
      if (n === seen) {
        this.seen.set(writer, n + 1);
        return true;
      }
      const ranges = Ranges.upTo(seen);
      this.seen.set(writer, ranges);
      return ranges.add(n);
    }
    if (seen !== undefined) return seen.add(n);
    if (n === 0) this.seen.set(writer, 1);
    else {
      const ranges = new Ranges();
      ranges.add(n);
      this.seen.set(writer, ranges);
    }
    return true;
  }

  /**
   * A line that is not JSON: held when it names a record's id, was torn before its id was whole,
   * or is a torn header (a whole copy read before or after resolves it), else undefined (torn).
   */
  hold(line: Buffer): HeldTorn | undefined {
    const head = line.toString('latin1', 0, 40);
    const m = TORN_ID.exec(head);
    if (m !== null) return this.tears.hold(line, `${m[1] ?? ''}.${m[2] ?? ''}`, false);
    if (line.length < 40 && SHORT_TORN.test(head)) return this.tears.hold(line, undefined, false);
    const header = head.startsWith(HEADER_START) || (line.length >= 3 && HEADER_START.startsWith(head));
    return header ? this.tears.hold(line, undefined, true) : undefined;
  }

  /** Every torn line held, resolved or not. */
  heldLines(): readonly HeldTorn[] {
    return this.tears.heldLines();
  }
}
