import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/**
 * What a SQLite file's own bytes say about a cut (a partial copy, a disk that filled): SQLite reads
 * the bytes past the end of a file as zeros, so the rows on the page the cut went through read
 * back with zeroed fields (a cost of 0.00099992… instead of 0.001, a request id of NUL bytes)
 * and nothing in SQL tells them apart. Read from the file directly (the format is documented:
 * sqlite.org/fileformat2.html), never throws.
 */
export interface SqliteCut {
  /** "the file is N bytes where its header says M (truncated)", when it is shorter. */
  readonly truncated?: string;
  /** Rowids of the rows whose cell the cut went through: not to be counted. */
  readonly cutRowids: ReadonlySet<number>;
}

const NONE: SqliteCut = { cutRowids: new Set() };

/** A SQLite varint at `at`: its value (exact up to 2^53) and length. */
function varint(b: Buffer, at: number): [number, number] {
  let v = 0;
  for (let i = 0; i < 8; i++) {
    const byte = b[at + i] ?? 0;
    v = v * 128 + (byte & 0x7f);
    if (byte < 0x80) return [v, i + 1];
  }
  return [v * 256 + (b[at + 8] ?? 0), 9];
}

export function sqliteCut(path: string): SqliteCut {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return NONE;
  }
  try {
    const h = Buffer.alloc(100);
    if (readSync(fd, h, 0, 100, 0) < 100 || h.toString('latin1', 0, 16) !== 'SQLite format 3\0') return NONE;
    const pageSize = h.readUInt16BE(16) === 1 ? 65_536 : h.readUInt16BE(16);
    const size = fstatSync(fd).size;
    // The page count is valid only when its "version-valid-for" number matches the change counter.
    const expected = h.readUInt32BE(24) === h.readUInt32BE(92) ? pageSize * h.readUInt32BE(28) : 0;
    const truncated = size < expected ? `the file is ${size} bytes where its header says ${expected} (truncated)` : undefined;
    const valid = size % pageSize;
    if (valid === 0 || size < pageSize) return { ...(truncated === undefined ? {} : { truncated }), cutRowids: new Set() };
    // The last, partial page: when it is a table leaf (0x0d), the rows whose cells pass its end.
    const page = Buffer.alloc(pageSize);
    readSync(fd, page, 0, valid, size - valid);
    const cut = new Set<number>();
    if (page[0] === 0x0d) {
      const usable = pageSize - (h[20] ?? 0);
      const cells = page.readUInt16BE(3);
      for (let i = 0; i < cells && 8 + 2 * i + 2 <= valid; i++) {
        const at = page.readUInt16BE(8 + 2 * i);
        if (at >= valid) continue; // wholly past the end: its rowid reads 0, out of order, not counted either
        const [payload, n1] = varint(page, at);
        const [rowid, n2] = varint(page, at + n1);
        const x = usable - 35;
        const m = Math.floor(((usable - 12) * 32) / 255) - 23;
        const k = m + ((payload - m) % (usable - 4));
        const local = payload <= x ? payload : k <= x ? k + 4 : m + 4;
        if (at + n1 + n2 + local > valid && at + n1 + n2 <= valid) cut.add(rowid);
      }
    }
    return { ...(truncated === undefined ? {} : { truncated }), cutRowids: cut };
  } catch {
    return NONE;
  } finally {
    closeSync(fd);
  }
}
