import type * as fs from 'node:fs';

/** What a test arms: the next write renames `path` to `rotated`, lands `landed` bytes, and the write after it fails. */
export interface TearHook {
  armed: boolean;
  landed: number;
  path: string;
  rotated: string;
}

/**
 * `node:fs` with a `writeSync` that, once `hook` is armed, plays another process rotating the file
 * under the writer (the first write renames it to `hook.rotated` and lands `hook.landed` bytes) and
 * then a full disk (the next write fails with ENOSPC). For a `vi.mock('node:fs', ...)` factory.
 */
export function tearingFs(real: typeof fs, hook: TearHook): typeof fs {
  let failNext = false;
  const writeSync = ((fd: number, buffer: Uint8Array, offset?: number) => {
    if (failNext) {
      failNext = false;
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }
    if (hook.armed) {
      hook.armed = false;
      real.renameSync(hook.path, hook.rotated);
      failNext = true;
      return real.writeSync(fd, buffer, offset ?? 0, hook.landed);
    }
    return real.writeSync(fd, buffer, offset ?? 0, buffer.length - (offset ?? 0));
  }) as typeof fs.writeSync;
  return { ...real, writeSync, default: { ...real, writeSync } } as typeof fs;
}
