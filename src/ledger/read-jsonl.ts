import { read, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip, type Gunzip } from 'node:zlib';
import { parseHeader } from './header.js';
import { parseRecord } from './parse-record.js';
import type { HeldTorn, RecordIds } from './record-ids.js';
import { emptyCounts, visitRecord, type LedgerVisitor, type ReadCounts, type TimeWindow } from './read-types.js';

/**
 * A line longer than this is not a record (records are a few hundred bytes; attribution is
 * bounded): it is skipped as torn without being held, so a damaged file (a run of NUL bytes a
 * crash left, a binary file named .jsonl) costs no more memory than a record.
 */
export const MAX_LINE_BYTES = 1 << 20;

function visitLine(bytes: Buffer, window: TimeWindow, visitor: LedgerVisitor, counts: ReadCounts, ids: RecordIds | undefined, held: HeldTorn[]): void {
  const line = bytes.toString('utf8');
  if (line.length === 0 || line.trim() === '') return;
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    // A line naming its record (or a header's start) is held: a whole copy read before or after makes it a retried write, not a loss.
    const h = ids?.hold(bytes);
    if (h === undefined) counts.torn++;
    else held.push(h);
    return;
  }
  const header = parseHeader(o);
  if (header !== undefined) {
    counts.headers++;
    ids?.header(bytes, (o as { tornBefore?: unknown }).tornBefore);
    visitor.header?.(header);
    return;
  }
  const r = parseRecord(o);
  if (r === 'mistyped') counts.mistyped++;
  else if (ids !== undefined && !ids.first((o as { id?: unknown }).id, bytes, (o as { tornBefore?: unknown }).tornBefore)) counts.duplicates++;
  else visitRecord(r, window, visitor, counts);
}

/** What reading one JSON Lines stream found. */
export interface JsonlRead {
  readonly counts: ReadCounts;
  /** Offset (decompressed for gzip) just past the last newline read: where a later read of the same file goes on. */
  readonly end: number;
  /** Bytes after `end`: an unterminated last line (a write in progress, a writer that died mid-line, a truncated file). */
  readonly tail: number;
  /** Bytes of torn lines (counted in `counts.torn`). */
  readonly tornBytes: number;
  /** Why the file could not be read to its end (a truncated or corrupt gzip file, an I/O error); the records before it were read. */
  readonly damage?: string;
  /** For gzip: compressed bytes handed to the decompressor when it failed (the damage lies at or before this). */
  readonly compressedRead?: number;
  /** For a plain file read from its start: its first bytes (up to {@link HEAD_BYTES}), to recognise a copy of it later. */
  readonly head?: Buffer;
  /** Torn lines held by the {@link RecordIds} given (not in `counts.torn`): resolved when a whole copy is read later. */
  readonly held: readonly HeldTorn[];
}

/** How much of a file's start {@link JsonlRead.head} keeps. */
export const HEAD_BYTES = 1 << 16;

/** How one stream is read. */
export interface JsonlSource {
  /** An open file descriptor; the caller closes it. */
  readonly fd: number;
  readonly gzip: boolean;
  /** Where to start (plain files only): a continuation after an earlier read's `end`. @defaultValue 0 */
  readonly start?: number;
  /**
   * What an unterminated last line is: `'torn'` (counted as a torn line) or `'pending'` (the
   * active file's first read: a write may be in progress; left to the read that goes on from `end`).
   */
  readonly tail: 'torn' | 'pending';
}

/** The bytes of the file open at `fd` from `start`, `size` at a time (the descriptor is left open). */
async function* chunks(fd: number, start: number, size: number, onRead?: (n: number) => void): AsyncGenerator<Buffer> {
  for (let pos = start; ; ) {
    const buf = Buffer.allocUnsafe(size);
    const n = await new Promise<number>((resolve, reject) => {
      read(fd, buf, 0, size, pos, (e, bytes) => {
        if (e === null) resolve(bytes);
        else reject(e);
      });
    });
    if (n === 0) return;
    pos += n;
    onRead?.(n);
    yield buf.subarray(0, n);
  }
}

const describe = (error: unknown): string => {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
};

/**
 * Streams one JSON Lines file (gzipped when `source.gzip`) line by line: memory is one read chunk
 * plus one line (at most {@link MAX_LINE_BYTES}), whatever the file's size. Never throws for what
 * the file holds: a read or decompression failure ends the read with `damage` set, after every
 * complete line before it was visited.
 */
export async function readJsonl(source: JsonlSource, window: TimeWindow, visitor: LedgerVisitor, ids?: RecordIds): Promise<JsonlRead> {
  const counts = emptyCounts();
  const held: HeldTorn[] = [];
  const start = source.gzip ? 0 : (source.start ?? 0);
  let compressedRead = 0;
  const raw = Readable.from(chunks(source.fd, start, source.gzip ? 1 << 14 : 1 << 20, (n) => (compressedRead += n)), { objectMode: false });
  let gunzip: Gunzip | undefined;
  if (source.gzip) {
    gunzip = createGunzip();
    const g = gunzip;
    raw.on('error', (e) => g.destroy(e));
    raw.pipe(g);
  }
  const stream: Readable = gunzip ?? raw;
  let pos = start; // offset of the next chunk's first byte
  let end = start;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let overlong = false;
  let tornBytes = 0;
  let damage: string | undefined;
  let head: Buffer | undefined;
  const endLine = (piece: Buffer): void => {
    if (overlong) {
      counts.torn++;
      tornBytes += pendingBytes + piece.length;
      overlong = false;
    } else {
      const line = pendingBytes === 0 ? piece : Buffer.concat([...pending, piece]);
      const before = counts.torn;
      visitLine(line, window, visitor, counts, ids, held);
      if (counts.torn !== before) tornBytes += line.length;
    }
    pending = [];
    pendingBytes = 0;
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (!source.gzip && start === 0 && pos === 0) head = Buffer.from(chunk.subarray(0, HEAD_BYTES));
      let s = 0;
      for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, s)) {
        endLine(chunk.subarray(s, nl));
        s = nl + 1;
        end = pos + s;
      }
      const rest = chunk.length - s;
      if (!overlong && pendingBytes + rest > MAX_LINE_BYTES) {
        overlong = true;
        pending = [];
      }
      if (!overlong && rest > 0) pending.push(chunk.subarray(s));
      pendingBytes += rest;
      pos += chunk.length;
    }
  } catch (error) {
    damage = describe(error);
  } finally {
    // The caller's descriptor stays open (a file read on, or compared, after this).
    gunzip?.destroy();
    raw.destroy();
  }
  let tail = pendingBytes;
  // The last line of a complete file ends without a newline only when its writer stopped mid-line.
  if (tail > 0 && damage === undefined && source.tail === 'torn') {
    endLine(Buffer.alloc(0));
    tail = 0;
    end = pos;
  }
  return { counts, end, tail, tornBytes, held, ...(damage === undefined ? {} : { damage }), ...(source.gzip ? { compressedRead } : {}), ...(head === undefined ? {} : { head }) };
}

/**
 * Whether the gzip file open at `gzFd` decompresses to data starting with the first `length` bytes
 * of the plain file open at `fd`: the compressed copy of a file read earlier, renamed and
 * compressed while the report ran. Never throws (a damaged file does not match).
 */
export async function gzipStartsWith(gzFd: number, fd: number, length: number): Promise<boolean> {
  const raw = Readable.from(chunks(gzFd, 0, 1 << 16), { objectMode: false });
  const gunzip = createGunzip();
  raw.on('error', (e) => gunzip.destroy(e));
  let pos = 0;
  const mine = Buffer.alloc(1 << 16);
  try {
    for await (const chunk of raw.pipe(gunzip) as AsyncIterable<Buffer>) {
      for (let s = 0; s < chunk.length && pos < length; ) {
        const n = readSync(fd, mine, 0, Math.min(mine.length, chunk.length - s, length - pos), pos);
        if (n === 0 || !chunk.subarray(s, s + n).equals(mine.subarray(0, n))) return false;
        s += n;
        pos += n;
      }
      if (pos >= length) return true;
    }
    return pos >= length;
  } catch {
    return false;
  } finally {
    gunzip.destroy();
    raw.destroy();
  }
}
