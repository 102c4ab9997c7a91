import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import { rotatedFiles } from './jsonl-files.js';

/** One ledger input as given (a path or a glob) and the files it stands for. */
export interface LedgerInput {
  readonly arg: string;
  readonly files: readonly string[];
}

/** A bad input: missing, a directory, unreadable, a glob that matches nothing. Names the path. */
export class LedgerInputError extends Error {
  override name = 'LedgerInputError';
}

export const isSqlitePath = (path: string): boolean => /\.(db|sqlite3?)$/i.test(path);

/** Checks a ledger file; one found by listing a directory (`listed`) may be gone already (a rotation renamed it): the reader looks for it. */
function checkFile(path: string, arg: string, listed: boolean): void {
  let st;
  try {
    st = statSync(path);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ELOOP') throw new LedgerInputError(`${arg}: a symbolic link loop (ELOOP)`);
    if (listed) return;
    throw new LedgerInputError(`${arg}: no such file`);
  }
  if (st.isDirectory()) throw new LedgerInputError(`${arg}: is a directory (give the ledger files, e.g. '${arg.replace(/\/$/, '')}/*.jsonl')`);
  try {
    accessSync(path, constants.R_OK);
  } catch {
    throw new LedgerInputError(`${arg}: not readable`);
  }
}

/**
 * One name per file: its real path, so a file reached through a symbolic link (a glob through a
 * link to an ancestor directory matches one file under many names) is read once. A file gone
 * since it was listed keeps its name.
 */
function identity(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/**
 * Expands ledger arguments: a glob (quoted, so the shell leaves it) matches files; a JSON Lines
 * path also stands for its rotated files (oldest first); a file named twice (or through a symbolic link) is read once.
 * Throws {@link LedgerInputError} naming the argument at fault.
 */
export async function resolveInputs(args: readonly string[]): Promise<LedgerInput[]> {
  if (args.length === 0) throw new LedgerInputError('no ledger given');
  const seen = new Set<string>();
  const out: LedgerInput[] = [];
  for (const arg of args) {
    const matched = isDynamicPattern(arg) ? (await glob(arg, { onlyFiles: true, absolute: true, expandDirectories: false })).sort() : [arg];
    if (matched.length === 0) throw new LedgerInputError(`${arg}: matches no file`);
    const files: string[] = [];
    for (const m of matched) {
      const family = isSqlitePath(m) || m.endsWith('.gz') ? [m] : [...rotatedFiles(m).map((f) => f.file), m];
      for (const f of family) {
        // A JSON Lines path with rotated files may be missing for a moment: a rotation renamed it and its writer has not written again yet.
        checkFile(f, f === m ? arg : f, f !== m || isDynamicPattern(arg) || family.length > 1);
        const key = identity(f);
        if (seen.has(key)) continue;
        seen.add(key);
        files.push(f);
      }
    }
    out.push({ arg, files });
  }
  return out;
}
