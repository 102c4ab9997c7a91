import { chmod, realpath, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { extname } from 'node:path';

let writes = 0;

/**
 * Writes the file `out` whole or not at all: `write` writes a file of its own beside it, which is
 * then renamed over `out`. A disk that fills part-way leaves the last report or export there
 * unchanged (writing in place truncated it first), and two runs writing one path at once never
 * mix their bytes. A path that is not a regular file (`/dev/stdout`, a pipe) is written as it is.
 */
export async function replaceFile<T>(out: string, write: (path: string) => Promise<T>): Promise<T> {
  let target = out;
  let mode: number | undefined;
  try {
    target = await realpath(out);
    const st = await stat(target);
    if (!st.isFile()) return await write(out);
    mode = st.mode & 0o7777;
  } catch {
    // Not there yet: created by the rename.
  }
  // The same extension: a writer that picks its format by the name (Parquet) sees the name it was given.
  const tmp = `${target}.${process.pid}.${++writes}.tmp${extname(target)}`;
  try {
    const result = await write(tmp);
    if (mode !== undefined) await chmod(tmp, mode);
    await rename(tmp, target);
    return result;
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw new Error(`--out ${out}: ${error instanceof Error ? error.message : String(error)}; the file there is unchanged`);
  }
}

/** Writes `text` to `--out` (saying so on stderr) or to stdout, waiting until stdout took it. */
export async function emit(text: string, out: string | undefined): Promise<void> {
  if (out !== undefined) {
    await replaceFile(out, (path) => writeFile(path, text));
    process.stderr.write(`wrote ${out}\n`);
    return;
  }
  await new Promise<void>((resolve, reject) => {
    process.stdout.write(text, (e) => {
      if (e) reject(e);
      else resolve();
    });
  });
}
