import { diag } from '@opentelemetry/api';
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigurationError } from '../errors/configuration-error.js';
import type { UsageRecord } from '../record.js';
import { storedHeader, type LedgerHeader } from './header.js';
import { compressorFor } from './jsonl-compressor.js';
import { applyRetention, endsWithNewline, rotatedName, stillAt, type JsonlRetention } from './jsonl-files.js';
import { toStored, type UsageLedger } from './ledger.js';
import { onProcessExit } from './process-exit.js';
import { idField, newWriterId, wholeLines, withTear } from './record-ids.js';

/** Options of {@link jsonlLedger}. */
export interface JsonlLedgerOptions {
  /**
   * The file to append to, e.g. `./usage.jsonl`. Any number of processes may share it. Rotated
   * files are renamed `usage.<UTC time>.<pid>.<n>.jsonl` beside it and kept.
   */
  readonly path: string;
  /** Rotate when the file would pass this size. @defaultValue `64 MiB` */
  readonly maxBytes?: number;
  /** Gzip rotated files (`….jsonl.gz`; the report reads them). @defaultValue `false` */
  readonly compress?: boolean;
  /** Delete old rotated files. @defaultValue none: every rotated file is kept */
  readonly retention?: JsonlRetention;
  /** Same as `retention: { maxFiles }` (the name earlier versions used): setting it enables deletion. @defaultValue none */
  readonly maxFiles?: number;
  /** How often buffered records are written. @defaultValue `1000` ms */
  readonly flushIntervalMs?: number;
  /** Records held while the disk is slow or failing; past this, the oldest are dropped (and counted). @defaultValue `100000` */
  readonly maxBuffered?: number;
}

function positive(value: number | undefined, field: string): void {
  if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)) throw new ConfigurationError(`jsonlLedger.${field}`, 'must be a positive number');
}


/** Reopens of the path when its file was rotated under a writer, before writing where it is (each needs another rotation meanwhile). */
const MAX_REOPENS = 8;

/**
 * A UsageLedger writing JSON Lines, one record per line. Records are buffered and written once
 * per `flushIntervalMs` in one `write()` to a file opened for append (atomic on local
 * filesystems, so processes sharing the file never interleave or lose lines), synchronously,
 * from a timer, never on a call's path: this is what lets the buffer be written on the process's
 * `exit` event too, when the process ends without `finops.shutdown()`.
 */
export function jsonlLedger(options: JsonlLedgerOptions): UsageLedger {
  if (typeof options?.path !== 'string' || options.path.length === 0) throw new ConfigurationError('jsonlLedger.path', 'must be a file path');
  for (const k of ['maxBytes', 'flushIntervalMs', 'maxBuffered', 'maxFiles'] as const) positive(options[k], k);
  const path = options.path;
  const maxBytes = options.maxBytes ?? 64 * 2 ** 20;
  const interval = options.flushIntervalMs ?? 1000;
  const maxBuffered = options.maxBuffered ?? 100_000;
  const retention: JsonlRetention | undefined = options.retention ?? (options.maxFiles === undefined ? undefined : { maxFiles: options.maxFiles });
  let buffer: UsageRecord[] = [];
  // Lines serialised once and not yet written whole (a write failed part-way): written again as
  // they are, with the ids they were given, so the report recognises their torn first attempt.
  let retry: string[] = [];
  const writer = newWriterId();
  let ids = 0;
  let headerLine: string | undefined;
  // The header as it is written next: `headerLine`, marked with the tears of its writes that failed part-way.
  let headerNext: string | undefined;
  let headerIno: number | undefined;
  let dirMade = false;
  let seq = 0;
  let timer: NodeJS.Timeout | undefined;
  let reported = false;
  let closed = false;
  const compressor = compressorFor(path);
  const state = { written: 0, dropped: 0 };

  function rotate(now: number): void {
    try {
      renameSync(path, rotatedName(path, now, process.pid, ++seq));
    } catch {
      // Another process rotated it first: the file at `path` is new and small.
    }
    if (retention !== undefined) applyRetention(path, retention, now);
    if (options.compress === true) compressor.later();
  }

  /** Appends `text`; `progress.bytes` says how much of it is written (`landed`: reached a file, maybe one rotated meanwhile), also when a write fails part-way. */
  function append(text: string, progress: { bytes: number; landed: number }): void {
    if (!dirMade) {
      mkdirSync(dirname(path), { recursive: true });
      dirMade = true;
    }
    for (let attempt = 0; ; attempt++) {
      let fd = openSync(path, 'a+');
      try {
        let st = fstatSync(fd);
        if (st.size > 0 && st.size + Buffer.byteLength(text) > maxBytes) {
          closeSync(fd);
          rotate(Date.now());
          fd = openSync(path, 'a+');
          st = fstatSync(fd);
        }
        // A writer killed mid-line (kill -9, a full disk) left the file without its last newline: end
        // that line first, or the first line written now joins it and is lost with it.
        const torn = st.size > 0 && !endsWithNewline(fd, st.size);
        // Every file starts with the header, so each one (rotated, compressed, copied) stands alone.
        const header = headerNext !== undefined && st.ino !== headerIno ? headerNext : '';
        const head = `${torn ? '\n' : ''}${header}`;
        const bytes = Buffer.from(head + text);
        // Another process may have rotated the file since this one opened it (held in between: a slow
        // disk, the scheduler): written now, the batch would land in the rotated file, which a report
        // may have read already and a compression or retention may delete. Open the path again.
        if (attempt < MAX_REOPENS && !stillAt(fd, path)) continue;
        const skip = Buffer.byteLength(head);
        let off = 0;
        try {
          while (off < bytes.length) off += writeSync(fd, bytes, off);
        } catch (error) {
          // Lines that landed whole in a file rotated meanwhile may be lost with it: all are retried (the report de-duplicates by id).
          progress.landed = Math.max(0, off - skip);
          // The header torn (a full disk): the one written next carries the tear's length, so the report matches the torn header to it.
          const headerLanded = off - (torn ? 1 : 0);
          if (headerLanded > 0 && off < skip) headerNext = withTear(header, headerLanded);
          progress.bytes = stillAt(fd, path) ? progress.landed : 0;
          throw error;
        }
        progress.bytes = Math.max(0, off - skip);
        if (header !== '') [headerIno, headerNext] = [st.ino, headerLine];
        // Checked again after the write: a rotation by another process between the check above and
        // the write (the writer held in between) put the batch in the rotated file, which a report
        // may have read already and a compression or retention may delete. Written again to the file
        // now at the path, with the same record ids: the report counts a record read twice once.
        if (attempt < MAX_REOPENS && !stillAt(fd, path)) continue;
        return;
      } finally {
        closeSync(fd);
      }
    }
  }

  function flushNow(): void {
    if (buffer.length === 0 && retry.length === 0) return;
    const batch = buffer;
    buffer = [];
    const lines: string[] = retry;
    retry = [];
    for (const r of batch) {
      try {
        // The id first: a line torn by a failed write still names its record.
        // The record's own id or tornBefore (an app's enriched record) would pass for the ledger's: the ledger's win.
        const { id: _id, tornBefore: _mark, ...stored } = toStored(r);
        lines.push(`${JSON.stringify({ id: idField(writer, ids++), ...stored })}\n`);
      } catch {
        state.dropped++;
      }
    }
    if (lines.length === 0) return;
    const progress = { bytes: 0, landed: 0 };
    try {
      append(lines.join(''), progress);
      state.written += lines.length;
    } catch (error) {
      // The lines that reached the file whole are written: retrying them would write them twice. The
      // rest (a torn last line included) wait for the next flush, bounded by maxBuffered; the disk may come back.
      const whole = wholeLines(lines, progress.bytes).n;
      state.written += whole;
      retry = lines.slice(whole);
      // The line torn where the bytes stopped (in a file rotated meanwhile too: every line is retried then).
      const tear = wholeLines(lines, progress.landed);
      const torn = retry[tear.n - whole];
      if (torn !== undefined && tear.torn > 0) retry[tear.n - whole] = withTear(torn, tear.torn);
      trim();
      if (!reported) {
        reported = true;
        diag.error(`bedrock-finops: the usage ledger could not write to ${path} (${error instanceof Error ? error.message : String(error)}); records are kept in memory up to maxBuffered, calls are unaffected`);
      }
    }
  }

  /** Drops the oldest records past maxBuffered (lines waiting to be written again first). */
  function trim(): void {
    const excess = retry.length + buffer.length - maxBuffered;
    if (excess <= 0) return;
    const fromRetry = Math.min(excess, retry.length);
    retry.splice(0, fromRetry);
    buffer.splice(0, excess - fromRetry);
    state.dropped += excess;
  }

  const unhook = onProcessExit(flushNow);

  return {
    write(record: UsageRecord): void {
      buffer.push(record);
      if (closed) {
        // A call that settles after shutdown (it was in flight): written now, synchronously, or counted as dropped.
        flushNow();
        state.dropped += buffer.length + retry.length;
        buffer = [];
        retry = [];
        return;
      }
      if (buffer.length + retry.length > maxBuffered) trim();
      if (timer === undefined) {
        timer = setTimeout(() => {
          timer = undefined;
          flushNow();
        }, interval);
        timer.unref();
      }
    },
    describe(header: LedgerHeader): void {
      headerLine = headerNext = `${JSON.stringify(storedHeader(header))}\n`;
      headerIno = undefined;
    },
    flush(): Promise<void> {
      flushNow();
      return Promise.resolve();
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      flushNow();
      // Whatever the disk still refuses is lost now: count it.
      state.dropped += buffer.length + retry.length;
      buffer = [];
      retry = [];
      unhook();
      await compressor.close();
    },
    get written() {
      return state.written;
    },
    get dropped() {
      return state.dropped;
    },
  };
}
