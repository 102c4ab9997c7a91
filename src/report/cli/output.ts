import { writeFile } from 'node:fs/promises';

/** Writes `text` to `--out` (saying so on stderr) or to stdout, waiting until stdout took it. */
export async function emit(text: string, out: string | undefined): Promise<void> {
  if (out !== undefined) {
    await writeFile(out, text);
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
