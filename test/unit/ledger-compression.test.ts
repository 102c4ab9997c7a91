import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gzipFile } from '../../src/ledger/jsonl-files.js';
import { storedLine, usageRecord } from '../helpers/usage-records.js';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-compress-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('compressing a rotated JSON Lines file twice at once in one process', () => {
  it('leaves one whole .gz with every record: two sweeps no longer write one temporary file together and delete the original', async () => {
    // A ledger rotating every few hundred milliseconds schedules a compression sweep per rotation;
    // two sweeps overlapped on the same files. Found by a live writer under a reading report
    // (test/e2e/ledger-report-race.test.ts): 15 of 178 rotated files were empty .gz files, 675 of 8,020 records gone.
    const files: string[] = [];
    const texts = new Map<string, string>();
    for (let f = 0; f < 120; f++) {
      let text = '';
      for (let i = 0; i < 200; i++) text += `${storedLine(usageRecord({ startedAt: Date.UTC(2026, 10, 20) + f * 1000 + i, requestId: `r-${f}-${i}` }))}\n`;
      const file = join(dir, `usage.20261120T100000Z.7.${f}.jsonl`);
      writeFileSync(file, text);
      files.push(file);
      texts.set(file, text);
    }
    // Sweeps over the same rotated files, as rotations' compression jobs ran them.
    const sweep = async (): Promise<void> => {
      for (const f of files) await gzipFile(f).catch(() => undefined);
    };
    // Started moments apart (each rotation's job starts its own), so they meet on files at every stage of a compression.
    await Promise.all(Array.from({ length: 12 }, (_, k) => new Promise((r) => setTimeout(r, k)).then(sweep)));
    expect(readdirSync(dir).sort()).toEqual(files.map((f) => `${f.slice(dir.length + 1)}.gz`).sort());
    // Before: some .gz files empty or torn (unexpected end of file), their originals deleted.
    for (const f of files) expect(gunzipSync(readFileSync(`${f}.gz`)).toString()).toBe(texts.get(f));
  });
});
