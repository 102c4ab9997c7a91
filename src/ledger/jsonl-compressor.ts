import { statSync } from 'node:fs';
import { gzipFile, rotatedFiles } from './jsonl-files.js';

const lastWrite = (file: string): number => {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
};

// Gzip only files rotated a while ago: a process that opened the file just before the rename may still be appending its batch.
const COMPRESS_AFTER_MS = 5_000;

/** Compresses the rotated files of the JSON Lines ledger at `path`, a while after each rotation. */
export interface Compressor {
  /** A rotation happened: sweep the rotated files once they are quiet. */
  later(): void;
  /** Waits for the sweeps due and running (keeping the process alive for them). */
  close(): Promise<void>;
}

export function compressorFor(path: string): Compressor {
  const jobs = new Set<Promise<void>>();
  // One sweep at a time: rotations moments apart each schedule one, and overlapping sweeps compressed the same files together.
  let sweeps: Promise<void> = Promise.resolve();
  // Delays of sweeps not yet started. Unreferenced (a pending compression does not keep a process
  // alive); close() references them: it waits for them, and a script's `await ledger.close()`
  // waiting on unreferenced timers ended the process with exit code 13, running nothing after it.
  const delays = new Set<NodeJS.Timeout>();
  const sweep = async (): Promise<void> => {
    // Quiet for most of the delay: a file this rotation produced (written up to the moment it
    // was renamed) qualifies even when the timer fires to the millisecond; a file another
    // process rotated moments ago waits for that process's own job.
    const quiet = Date.now() - COMPRESS_AFTER_MS / 2;
    for (const f of rotatedFiles(path)) if (!f.compressed && f.stamp !== '' && lastWrite(f.file) <= quiet) await gzipFile(f.file).catch(() => undefined);
  };
  return {
    later(): void {
      const job = new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          delays.delete(t);
          resolve();
        }, COMPRESS_AFTER_MS).unref();
        delays.add(t);
      })
        .then(async () => {
          sweeps = sweeps.then(sweep);
          await sweeps;
        })
        .finally(() => jobs.delete(job));
      jobs.add(job);
    },
    async close(): Promise<void> {
      for (const t of delays) t.ref();
      await Promise.all([...jobs]);
    },
  };
}
