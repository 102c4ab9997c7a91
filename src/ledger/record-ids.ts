/**
 * Record ids of the JSON Lines ledger, and what the report does with them. The writer puts
 * `"id":"<writer>.<n>"` first on every line: a random id of the ledger instance (12 base64url
 * characters, 72 bits) and a counter (base 36) it gives each record once, and keeps with the line
 * when the line is written again (a write that failed part-way, or that may have landed in a file
 * another process rotated meanwhile). So the report can tell a record written twice from two
 * records, and a line torn by a failed write from a lost record: both have the same id.
 */
import { randomBytes } from 'node:crypto';

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
 * The line to write again after its first `torn` bytes landed: as it is when those bytes name the
 * record (its id whole: the report matches the torn line by id), else with the tear's length
 * added at its end (`"tornBefore":[15]`), which the report matches the short torn line by.
 */
export function withTear(line: string, torn: number): string {
  if (torn > line.indexOf('",')) return line;
  const marked = /,"tornBefore":\[([\d,]+)\]\}\n$/.exec(line);
  return marked === null ? `${line.slice(0, -2)},"tornBefore":[${torn}]}\n` : `${line.slice(0, marked.index)},"tornBefore":[${marked[1] ?? ''},${torn}]}\n`;
}

/**
 * An id as the writer makes it: its counter in base 36 without leading zeros, so one id string is
 * one number (`w.01` is no id of the writer's: parsed, it would pass for `w.1` and drop a record
 * as its duplicate; like any line without a ledger id it is counted, never de-duplicated).
 */
const ID = /^([A-Za-z0-9_-]{12})\.(0|[1-9a-z][0-9a-z]{0,9})$/;
/** A torn line names its record only when the whole id, with its closing quote, made it to the file. */
const TORN_ID = /^\{"id":"([A-Za-z0-9_-]{12})\.(0|[1-9a-z][0-9a-z]{0,9})"/;
/**
 * A line torn before its id was whole (`{"id":"AbCdE`): it names no record. The writer marks the
 * line it writes again with the tear's length (`"tornBefore":[12]`); such a torn line is matched
 * to one marked line it is a byte prefix of, one for one.
 */
const SHORT_TORN = /^\{(?:"(?:i(?:d(?:"(?::(?:"[A-Za-z0-9_-]{0,12}(?:\.[0-9a-z]{0,10})?)?)?)?)?)?)?$/;

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

/** A torn line held until a whole copy of its record is read (then it was a retried write, not a loss). */
export interface HeldTorn {
  /** Its length in bytes. */
  readonly bytes: number;
  /** The file it is in (set when its read is accounted). */
  file?: string;
  /** A whole line of the same record starting with these bytes was read after it. */
  resolved: boolean;
}

/** Torn lines held, bounded: past these, a torn line is counted as torn at once (the conservative answer). */
const MAX_HELD = 100_000;
const MAX_HELD_BYTES = 64 << 20;

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
  private readonly torn = new Map<string, { readonly line: Buffer; readonly entry: HeldTorn }[]>();
  /** Lines torn before their id was whole, by their bytes (latin1): a mark of length n takes one whose bytes start the marked line. */
  private readonly short = new Map<string, HeldTorn[]>();
  private readonly held: HeldTorn[] = [];
  private heldBytes = 0;

  /**
   * A whole record's line and its `id` field: true the first time the id is read, false when it
   * was read before (the same record written twice: not counted again). Lines without an id (other
   * writers, earlier versions) are always new. A torn line of the same id whose bytes start this
   * line is resolved: it was a write retried whole; so is one torn line before its id was whole for
   * each length in `tornBefore` (the writer's mark), when this line starts with its bytes. A
   * record's marks count once: a copy read again (written again after a rotation) carries the
   * same marks, for the same tears.
   */
  first(id: unknown, line: Buffer, tornBefore?: unknown): boolean {
    const isNew = this.isNew(id, line);
    if (isNew && Array.isArray(tornBefore)) this.resolveShort(tornBefore, line);
    return isNew;
  }

  private isNew(id: unknown, line: Buffer): boolean {
    if (typeof id !== 'string') return true;
    const m = ID.exec(id);
    if (m === null) return true;
    const waiting = this.torn.get(id);
    if (waiting !== undefined) {
      for (const t of waiting) {
        if (line.length > t.line.length && line.subarray(0, t.line.length).equals(t.line)) t.entry.resolved = true;
        this.heldBytes -= t.line.length;
      }
      this.torn.delete(id);
    }
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

  private resolveShort(lengths: readonly unknown[], line: Buffer): void {
    for (const n of lengths) {
      if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0 || n >= line.length || n >= 40) continue;
      const key = line.toString('latin1', 0, n);
      const waiting = this.short.get(key);
      const t = waiting?.shift();
      if (t === undefined) continue;
      t.resolved = true;
      if (waiting?.length === 0) this.short.delete(key);
    }
  }

  /** A line that is not JSON: held when it names a record's id or was torn before its id was whole (a whole copy read later resolves it), else undefined (torn). */
  hold(line: Buffer): HeldTorn | undefined {
    if (this.held.length >= MAX_HELD || this.heldBytes + line.length > MAX_HELD_BYTES) return undefined;
    const head = line.toString('latin1', 0, 40);
    if (line.length < 40 && SHORT_TORN.test(head)) {
      const entry: HeldTorn = { bytes: line.length, resolved: false };
      const list = this.short.get(head) ?? [];
      list.push(entry);
      this.short.set(head, list);
      this.held.push(entry);
      return entry;
    }
    const m = TORN_ID.exec(head);
    if (m === null) return undefined;
    const id = `${m[1] ?? ''}.${m[2] ?? ''}`;
    const entry: HeldTorn = { bytes: line.length, resolved: false };
    const list = this.torn.get(id) ?? [];
    list.push({ line: Buffer.from(line), entry });
    this.torn.set(id, list);
    this.held.push(entry);
    this.heldBytes += line.length;
    return entry;
  }

  /** Every torn line held, resolved or not. */
  heldLines(): readonly HeldTorn[] {
    return this.held;
  }
}
