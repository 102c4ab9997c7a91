import { diag } from '@opentelemetry/api';
import { appendFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigurationError } from '../errors/configuration-error.js';
import type { UsageRecord } from '../record.js';
import { toStored, type UsageLedger } from './ledger.js';

/** Options of {@link jsonlLedger}. */
export interface JsonlLedgerOptions {
  /** The file to append to, e.g. `./usage.jsonl`. Rotated files get `.1`, `.2`, … (1 is the newest). */
  readonly path: string;
  /** Rotate when the file would pass this size. @defaultValue `64 MiB` */
  readonly maxBytes?: number;
  /** Rotated files kept. @defaultValue `5` */
  readonly maxFiles?: number;
  /** How often buffered records are written. @defaultValue `1000` ms */
  readonly flushIntervalMs?: number;
  /** Records held while the disk is slow or failing; past this, the oldest are dropped (and counted). @defaultValue `100000` */
  readonly maxBuffered?: number;
}

/** A UsageLedger writing JSON Lines, one record per line, batched and rotated by size. */
export function jsonlLedger(options: JsonlLedgerOptions): UsageLedger {
  if (typeof options?.path !== 'string' || options.path.length === 0) throw new ConfigurationError('jsonlLedger.path', 'must be a file path');
  const path = options.path;
  const maxBytes = options.maxBytes ?? 64 * 2 ** 20;
  const maxFiles = options.maxFiles ?? 5;
  const interval = options.flushIntervalMs ?? 1000;
  const maxBuffered = options.maxBuffered ?? 100_000;
  let buffer: string[] = [];
  let size: number | undefined;
  let writing: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let reported = false;
  let closed = false;
  const state = { written: 0, dropped: 0 };

  async function rotate(): Promise<void> {
    await rm(`${path}.${maxFiles}`, { force: true });
    for (let i = maxFiles - 1; i >= 1; i--) await rename(`${path}.${i}`, `${path}.${i + 1}`).catch(() => undefined);
    await rename(path, `${path}.1`).catch(() => undefined);
    size = 0;
  }

  async function writeBatch(lines: string[]): Promise<void> {
    const chunk = lines.join('');
    const bytes = Buffer.byteLength(chunk);
    try {
      if (size === undefined) {
        await mkdir(dirname(path), { recursive: true });
        size = await stat(path).then(
          (s) => s.size,
          () => 0,
        );
      }
      if (size > 0 && size + bytes > maxBytes) await rotate();
      await appendFile(path, chunk);
      size += bytes;
      state.written += lines.length;
    } catch (error) {
      state.dropped += lines.length;
      size = undefined;
      if (!reported) {
        reported = true;
        diag.error(`bedrock-finops: the usage ledger could not write to ${path} (${error instanceof Error ? error.message : String(error)}); records are being dropped, calls are unaffected`);
      }
    }
  }

  function flush(): Promise<void> {
    if (buffer.length > 0) {
      const lines = buffer;
      buffer = [];
      writing = writing.then(() => writeBatch(lines));
    }
    return writing;
  }

  function schedule(): void {
    if (timer !== undefined || closed) return;
    timer = setTimeout(() => {
      timer = undefined;
      void flush();
    }, interval);
    timer.unref();
  }

  return {
    write(record: UsageRecord): void {
      if (closed) return;
      try {
        buffer.push(`${JSON.stringify(toStored(record))}\n`);
        if (buffer.length > maxBuffered) {
          buffer.shift();
          state.dropped++;
        }
        schedule();
      } catch {
        state.dropped++;
      }
    },
    flush,
    async close(): Promise<void> {
      closed = true;
      clearTimeout(timer);
      await flush();
    },
    get written() {
      return state.written;
    },
    get dropped() {
      return state.dropped;
    },
  };
}
