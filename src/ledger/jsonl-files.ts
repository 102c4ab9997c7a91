import { fstatSync, readdirSync, readSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

/**
 * File naming of a JSON Lines ledger. The active file is the configured path; a rotated file
 * is renamed to a name no other process or rotation can produce
 * (`usage.20261127T101600Z.4711.3.jsonl`: UTC time, process id, sequence), so rotations never
 * overwrite each other, and nothing is deleted unless a retention is configured.
 */

const stamp = (now: number): string => new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function parts(path: string): { dir: string; stem: string; ext: string } {
  const name = basename(path);
  const ext = extname(name);
  return { dir: dirname(path), stem: ext === '' ? name : name.slice(0, -ext.length), ext };
}

/** The name a rotation gives the active file: unique per process, time and sequence. */
export function rotatedName(path: string, now: number, pid: number, seq: number): string {
  const { dir, stem, ext } = parts(path);
  return join(dir, `${stem}.${stamp(now)}.${pid}.${seq}${ext}`);
}

/** A rotated file of `path`, with when it was rotated (for ordering and retention). */
export interface RotatedFile {
  readonly file: string;
  readonly stamp: string;
  readonly compressed: boolean;
}

function patterns(path: string): { dir: string; current: RegExp; legacy: RegExp } {
  const { dir, stem, ext } = parts(path);
  const name = basename(path);
  return {
    dir,
    current: new RegExp(`^${escape(stem)}\\.(\\d{8}T\\d{6}Z)\\.(\\d+)\\.(\\d+)${escape(ext)}(\\.gz)?$`),
    legacy: new RegExp(`^${escape(name)}\\.(\\d+)$`),
  };
}

/** Whether `file` is a name a rotation of the ledger at `path` gives (compressed or not, or an earlier version's numbered name). */
export function isRotatedOf(path: string, file: string): boolean {
  const { dir, current, legacy } = patterns(path);
  const name = basename(file);
  return resolve(dirname(file)) === resolve(dir) && (current.test(name) || legacy.test(name));
}

/**
 * The rotated files of `path`, oldest first: this naming, and the numbered names (`usage.jsonl.1`,
 * 1 the newest) earlier versions wrote, which sort before them.
 */
export function rotatedFiles(path: string): RotatedFile[] {
  const { dir, current, legacy } = patterns(path);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const out: (RotatedFile & { order: string })[] = [];
  for (const entry of entries) {
    const m = current.exec(entry);
    if (m !== null) {
      out.push({ file: join(dir, entry), stamp: m[1] ?? '', compressed: m[4] !== undefined, order: `1${m[1] ?? ''}.${(m[2] ?? '').padStart(10, '0')}.${(m[3] ?? '').padStart(10, '0')}` });
      continue;
    }
    const l = legacy.exec(entry);
    if (l !== null) out.push({ file: join(dir, entry), stamp: '', compressed: false, order: `0${String(1e9 - Number(l[1])).padStart(10, '0')}` });
  }
  return out.sort((a, b) => a.order.localeCompare(b.order)).map(({ file, stamp: s, compressed }) => ({ file, stamp: s, compressed }));
}

let compressions = 0;

/** Gzips a rotated file to `file.gz` (written aside, then renamed: a crash leaves the original). */
export async function gzipFile(file: string): Promise<void> {
  // A name of this call's own: two processes, or two compressions in one process, may compress the
  // same file at once (with one name per process, two sweeps wrote one temporary file together,
  // renamed an empty or torn .gz into place and deleted the original: its records were lost).
  const tmp = `${file}.gz.${process.pid}.${++compressions}.tmp`;
  // The original opened first: when another compression already removed it, nothing is created
  // (a write stream opened beside a failed read could create its file after the cleanup below).
  const source = await open(file, 'r');
  try {
    const sink = await open(tmp, 'w').catch(async (error: unknown) => {
      await source.close();
      throw error;
    });
    await pipeline(source.createReadStream(), createGzip(), sink.createWriteStream());
    renameSync(tmp, `${file}.gz`);
  } catch (error) {
    // A failed compression (a full disk, the file gone) leaves no half-written file behind; the original stays.
    try {
      unlinkSync(tmp);
    } catch {
      // Never created, or already gone.
    }
    throw error;
  }
  try {
    unlinkSync(file);
  } catch {
    // The other process removed it.
  }
}

/** What a retention keeps; without one, every rotated file is kept. */
export interface JsonlRetention {
  /** Rotated files kept (the newest); older ones are deleted. */
  readonly maxFiles?: number;
  /** Rotated files older than this many days (by modification time) are deleted. */
  readonly maxAgeDays?: number;
}

/** Deletes rotated files past the retention. Only ever called when the user configured one. */
export function applyRetention(path: string, retention: JsonlRetention, now: number): void {
  const files = rotatedFiles(path);
  const doomed = new Set<string>();
  if (retention.maxFiles !== undefined) for (const f of files.slice(0, Math.max(0, files.length - retention.maxFiles))) doomed.add(f.file);
  if (retention.maxAgeDays !== undefined) {
    const cutoff = now - retention.maxAgeDays * 86_400_000;
    for (const f of files) {
      try {
        if (statSync(f.file).mtimeMs < cutoff) doomed.add(f.file);
      } catch {
        // Gone already (another process applied the same retention).
      }
    }
  }
  for (const f of doomed) {
    try {
      unlinkSync(f);
    } catch {
      // Gone already.
    }
  }
}

/** Whether the file open at `fd` (of `size` bytes) ends with a newline (a writer killed mid-line left it without). */
export function endsWithNewline(fd: number, size: number): boolean {
  const last = Buffer.alloc(1);
  return readSync(fd, last, 0, 1, size - 1) === 1 && last[0] === 0x0a;
}

/** Whether the file open at `fd` is still the one at `path` (not renamed by a rotation, not deleted). */
export function stillAt(fd: number, path: string): boolean {
  const open = fstatSync(fd);
  if (open.nlink === 0) return false;
  try {
    const now = statSync(path);
    return now.ino === open.ino && now.dev === open.dev;
  } catch {
    return false;
  }
}
