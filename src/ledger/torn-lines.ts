/**
 * Torn lines of a JSON Lines ledger and the whole lines that retried them, matched in whichever
 * order the report reads them. Rotated files are read oldest first, and two rotations in one
 * second are ordered by process id, so the whole line a writer wrote again can come before its
 * torn first attempt. Nothing is kept per record: a torn line is held (they are rare), and a whole
 * line the writer marked as a retry of a tear (`"tornBefore":[n]`: the tear was its first n bytes)
 * leaves those n bytes for a torn line read later.
 */

/** A torn line held until a whole copy of its record (or header) is read (then it was a retried write, not a loss). */
export interface HeldTorn {
  /** Its length in bytes. */
  readonly bytes: number;
  /** The file it is in (set when its read is accounted). */
  file?: string;
  /** A whole line of the same record starting with these bytes was read (before or after it). */
  resolved: boolean;
  /** It is (the start of) a ledger header: lost, the provisioned configuration it carried is missing. */
  readonly header?: true;
}

/** Torn lines held and marks kept, bounded: past these, a torn line is counted as torn at once (the conservative answer). */
const MAX_HELD = 100_000;
const MAX_HELD_BYTES = 64 << 20;
/** Marks read per line: the writer adds one per failed write of the line. */
const MAX_MARKS = 64;

/**
 * A torn line names its record only when the whole id, with its closing quote, made it to the file
 * (an id as the writer makes it: its counter in base 36 without leading zeros).
 */
export const TORN_ID = /^\{"id":"([A-Za-z0-9_-]{12})\.(0|[1-9a-z][0-9a-z]{0,9})"/;

/** How every ledger header line starts (the type first: a torn header still says what it was). */
export const HEADER_START = '{"type":"bedrock-finops.header"';
/** A header's start through its writer's time (to the millisecond) and pid: one process's header, not a prefix every header of a minute shares. */
const HEADER_NAMED = /^\{"type":"bedrock-finops\.header","writtenAt":"[^"]*","pid":\d+,/;

export class TornLines {
  /** Torn lines waiting for their whole line, by their bytes (latin1). */
  private readonly waiting = new Map<string, HeldTorn[]>();
  /** Keys of waiting lines that name a record id, by the id: a whole line of that id resolves those it starts with. */
  private readonly byId = new Map<string, string[]>();
  /** How many waiting keys have each length: a mark of a length no torn line has is not turned into a string to look up. */
  private readonly lengths = new Map<number, number>();
  /** Tears marked on whole lines read with no torn line yet to match: their bytes (latin1), and how many. */
  private readonly marks = new Map<string, number>();
  private readonly held: HeldTorn[] = [];
  private entries = 0;
  private bytes = 0;

  /**
   * A torn line: resolved at once when a whole line read before was marked with exactly its bytes,
   * else held (undefined past the bounds: torn). `id`: the record it names; `header`: a header's.
   */
  hold(line: Buffer, id: string | undefined, header: boolean): HeldTorn | undefined {
    if (this.held.length >= MAX_HELD) return undefined;
    const key = line.toString('latin1');
    const entry: HeldTorn = { bytes: line.length, resolved: false, ...(header ? { header: true as const } : {}) };
    const marked = this.marks.get(key);
    if (marked !== undefined) {
      // A tear naming its record or header is that record's tear however often it is read (a copied file); a short one is matched one for one.
      if (!this.unique(key, id)) this.unmark(key, marked);
      entry.resolved = true;
      this.held.push(entry);
      return entry;
    }
    if (this.entries >= MAX_HELD || this.bytes + key.length > MAX_HELD_BYTES) return undefined;
    const list = this.waiting.get(key);
    if (list === undefined) {
      this.waiting.set(key, [entry]);
      this.bytes += key.length;
      this.lengths.set(key.length, (this.lengths.get(key.length) ?? 0) + 1);
      // Pushed, not copied: many torn lines naming one id (a hostile file) cost linear time, not quadratic.
      if (id !== undefined) {
        const keys = this.byId.get(id);
        if (keys === undefined) this.byId.set(id, [key]);
        else keys.push(key);
      }
    } else list.push(entry);
    this.entries++;
    this.held.push(entry);
    return entry;
  }

  /**
   * A whole line: resolves the torn lines of its record `id` that it starts with, and one for each
   * of its `marks` (tear lengths) whose bytes start it; a mark no torn line matches yet is kept for
   * one read later. `marks` only on a record's first copy: its marks count once. A header resolves
   * torn headers only by its marks: it names no writer, and any header starts with another's first
   * bytes (`{"type":"bedrock-finops.header","writtenAt":"2026-11-20T10:0`, any header of those ten
   * minutes): a torn header of a process killed before it wrote again is its lost first batch.
   */
  whole(line: Buffer, id: string | undefined, marks?: unknown): void {
    const keys = id === undefined ? undefined : this.byId.get(id);
    if (id !== undefined && keys !== undefined) {
      for (const key of keys) if (startsWith(line, key)) this.resolve(key, true);
      this.byId.delete(id);
    }
    if (!Array.isArray(marks)) return;
    for (const n of marks.slice(0, MAX_MARKS)) {
      if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0 || n >= line.length) continue;
      const room = this.entries < MAX_HELD && this.bytes + n <= MAX_HELD_BYTES;
      // Neither a torn line of this length waiting nor room to keep the mark: nothing to do (no n-byte string made).
      if (!room && !this.lengths.has(n)) continue;
      const key = line.toString('latin1', 0, n);
      if (this.waiting.has(key)) this.resolve(key, this.unique(key, undefined));
      else if (room) {
        const had = this.marks.get(key);
        this.marks.set(key, (had ?? 0) + 1);
        this.entries++;
        if (had === undefined) this.bytes += n;
      }
    }
  }

  /** Every torn line held, resolved or not. */
  heldLines(): readonly HeldTorn[] {
    return this.held;
  }

  /**
   * A tear that names its record (its id whole) or its header's writer (its time and pid whole):
   * one line's, not a prefix many lines share. A header torn sooner is matched one for one: two
   * processes' headers of the same minute tear to the same bytes.
   */
  private unique(key: string, id: string | undefined): boolean {
    return id !== undefined || HEADER_NAMED.test(key) || TORN_ID.test(key);
  }

  /** Resolves the torn lines of `key`: all of them (copies of one tear), or the first (one for one). */
  private resolve(key: string, all: boolean): void {
    const list = this.waiting.get(key);
    if (list === undefined) return;
    // One for one from the end: identical torn lines are interchangeable, and a pop is O(1) (splice(0, 1) moved them all: 100,000 tears and marks took ~10 s).
    const done = all ? list.splice(0) : list.splice(-1);
    for (const t of done) t.resolved = true;
    this.entries -= done.length;
    if (list.length > 0) return;
    this.waiting.delete(key);
    this.bytes -= key.length;
    const same = this.lengths.get(key.length) ?? 0;
    if (same > 1) this.lengths.set(key.length, same - 1);
    else this.lengths.delete(key.length);
  }

  private unmark(key: string, count: number): void {
    this.entries--;
    if (count > 1) this.marks.set(key, count - 1);
    else {
      this.marks.delete(key);
      this.bytes -= key.length;
    }
  }
}

/** Whether `line` is longer than the torn bytes `key` (latin1) and starts with them. */
const startsWith = (line: Buffer, key: string): boolean => line.length > key.length && line.toString('latin1', 0, key.length) === key;
