import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { gzipFile } from '../../src/ledger/jsonl-files.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'bedrock-finops-gzip-'));
  dirs.push(d);
  return d;
}

describe('gzipFile (compressing a rotated ledger file)', () => {
  it('writes file.gz with the same bytes and removes the original', async () => {
    const d = dir();
    const file = join(d, 'usage.2026-11-27T00-00-00.jsonl');
    writeFileSync(file, '{"a":1}\n{"a":2}\n');
    await gzipFile(file);
    expect(readdirSync(d)).toEqual(['usage.2026-11-27T00-00-00.jsonl.gz']);
    expect(gunzipSync(readFileSync(`${file}.gz`)).toString()).toBe('{"a":1}\n{"a":2}\n');
  });

  it('that fails (the file already compressed and removed by another process) leaves no half-written temporary file', async () => {
    const d = dir();
    const file = join(d, 'usage.2026-11-27T00-00-00.jsonl');
    // Before: the rejected compression left `….jsonl.gz.<pid>.tmp` behind for good.
    await expect(gzipFile(file)).rejects.toThrow(/ENOENT/);
    expect(readdirSync(d)).toEqual([]);
  });
});
