import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLedgers } from '../../src/ledger/index.js';
import { runToEnd, waitFor } from '../helpers/processes.js';
import { usageRecord, writeJsonl } from '../helpers/usage-records.js';

// Two real writer processes on one JSON Lines ledger. Process A opens the file for its batch and is
// held (a slow disk read, the scheduler, a GC pause: here a hook in fs.readSync) before it writes;
// meanwhile process B rotates the file, compresses the rotated file and deletes it, as its
// `compress: true` does five seconds after a rotation. Before: A then appended its batch to the
// file B had renamed and deleted (the descriptor it held): written, counted in `written`, and gone.
const root = resolve(import.meta.dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const T0 = Date.UTC(2026, 10, 20, 10);
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-stall-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (script: string): { done: Promise<string> } => runToEnd(tsx, [script]);

describe('a writer process held between opening the ledger and writing, while another rotates it', () => {
  it('writes its batch to the active file, not to the rotated file another process compressed and deleted meanwhile: every record is read once', async () => {
    const ledgerDir = join(dir, 'fleet');
    mkdirSync(ledgerDir);
    const path = join(ledgerDir, 'usage.jsonl');
    writeJsonl(path, Array.from({ length: 10 }, (_, i) => usageRecord({ startedAt: T0 + i, requestId: `init-${i}` })));
    const stalled = join(dir, 'stalled');
    const go = join(dir, 'go');
    const ledgerModule = JSON.stringify(join(root, 'src/ledger/index.ts'));
    const records = JSON.stringify(join(root, 'test/helpers/usage-records.ts'));
    const a = join(dir, 'a.mts');
    writeFileSync(
      a,
      `import fs, { existsSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { jsonlLedger } from ${ledgerModule};
import { usageRecord } from ${records};
// Hold the first read the ledger makes once armed (its check of the file's last byte, between open and write).
let armed = false;
const readSync = fs.readSync;
fs.readSync = (...args) => {
  if (armed) {
    armed = false;
    writeFileSync(${JSON.stringify(stalled)}, '');
    const nap = new Int32Array(new SharedArrayBuffer(4));
    while (!existsSync(${JSON.stringify(go)})) Atomics.wait(nap, 0, 0, 10);
  }
  return readSync(...args);
};
syncBuiltinESMExports();
const ledger = jsonlLedger({ path: ${JSON.stringify(path)}, flushIntervalMs: 3_600_000 });
ledger.write(usageRecord({ startedAt: ${T0} + 100, requestId: 'a-0' }));
armed = true;
await ledger.flush();
await ledger.close();
console.log('A written', ledger.written, 'dropped', ledger.dropped);
`,
    );
    const b = join(dir, 'b.mts');
    writeFileSync(
      b,
      `import { jsonlLedger } from ${ledgerModule};
import { usageRecord } from ${records};
// A small maxBytes: B's batch does not fit beside the 10 records, so B rotates the file first.
const ledger = jsonlLedger({ path: ${JSON.stringify(path)}, maxBytes: 5_000, compress: true, flushIntervalMs: 3_600_000 });
for (let i = 0; i < 10; i++) ledger.write(usageRecord({ startedAt: ${T0} + 200 + i, requestId: 'b-' + i }));
await ledger.flush();
// close() waits for the compression due five seconds after the rotation: the rotated file is gzipped, then deleted.
await ledger.close();
console.log('B written', ledger.written);
`,
    );
    const writerA = run(a);
    await waitFor('A to hold its write', async () => (existsSync(stalled) ? true : undefined), 60_000, 20);
    const outB = await run(b).done;
    expect(outB).toContain('B written 10');
    // B rotated the file A holds open, compressed it and deleted it.
    expect(readdirSync(ledgerDir).filter((f) => f.endsWith('.jsonl.gz'))).toHaveLength(1);
    writeFileSync(go, '');
    const outA = await writerA.done;
    expect(outA).toContain('A written 1 dropped 0');
    const ids: string[] = [];
    const summary = await readLedgers([path], { record: (r) => ids.push(r.requestId ?? '') });
    // Read: the 10 first records (from the .gz), B's 10 and A's 1, each once; nothing skipped or named.
    expect(ids.sort()).toEqual([...Array.from({ length: 10 }, (_, i) => `init-${i}`), 'a-0', ...Array.from({ length: 10 }, (_, i) => `b-${i}`)].sort());
    expect(summary).toMatchObject({ partial: false, problems: [] });
  }, 120_000);
});
