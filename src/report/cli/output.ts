import { chmod, realpath, rename, stat, unlink, writeFile } from 'node:fs/promises';

let writes = 0;

/**
 * Writes `text` to the file `out` whole or not at all: into a file of its own beside it, then
 * renamed over it. A disk that fills part-way leaves the last report there unchanged (writing in
 * place truncated it first), and two reports writing one path at once never mix their bytes. A
 * path that is not a regular file (`/dev/stdout`, a pipe) is written as it is.
 */
async function replaceFile(out: string, text: string): Promise<void> {
  let target = out;
  let mode: number | undefined;
  try {
    target = await realpath(out);
    const st = await stat(target);
    if (!st.isFile()) {
      await writeFile(out, text);
      return;
    }
    mode = st.mode & 0o7777;
  } catch {
    // Not there yet: created by the rename.
  }
  const tmp = `${target}.${process.pid}.${++writes}.tmp`;
  try {
    await writeFile(tmp, text);
    if (mode !== undefined) await chmod(tmp, mode);
    await rename(tmp, target);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw new Error(`--out ${out}: ${error instanceof Error ? error.message : String(error)}; the file there is unchanged`);
  }
}

/** Writes `text` to `--out` (saying so on stderr) or to stdout, waiting until stdout took it. */
export async function emit(text: string, out: string | undefined): Promise<void> {
  if (out !== undefined) {
    await replaceFile(out, text);
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
