import * as fs from 'node:fs';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { jsonlLedger, readLedgers } from '../../src/ledger/index.js';
import { usageRecord } from '../helpers/usage-records.js';

// The ledger's writes go through this hook: once armed, the first write renames the file (another
// process rotating it under the writer), lands `landed` bytes and the next one fails (a full disk).
const hook = vi.hoisted(() => ({ armed: false, landed: 0, path: '', rotated: '' }));
vi.mock('node:fs', async (importOriginal) => (await import('../helpers/tearing-fs.js')).tearingFs(await importOriginal<typeof fs>(), hook));

const T0 = Date.UTC(2026, 10, 20, 10);
let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-torn-rotated-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('a write torn in a file rotated under the writer', () => {
  it('a tear before the record id was whole is marked on the line written again: 3 records, retried 1, nothing lost', async () => {
    const path = join(dir, 'usage.jsonl');
    Object.assign(hook, { path, rotated: join(dir, 'usage.rotated.jsonl') });
    const ledger = jsonlLedger({ path, flushIntervalMs: 3_600_000 });
    ledger.write(usageRecord({ startedAt: T0, requestId: 'r-0', costUsd: 0.001 }));
    await ledger.flush();
    expect(ledger.written).toBe(1);
    // Records 1 and 2: the file is rotated while they are written, 10 bytes of record 1 land ({"id":"AbC) and the disk refuses the rest.
    for (let i = 1; i < 3; i++) ledger.write(usageRecord({ startedAt: T0 + i, requestId: `r-${i}`, costUsd: 0.001 }));
    Object.assign(hook, { armed: true, landed: 10 });
    await ledger.flush();
    expect([ledger.written, ledger.dropped]).toEqual([1, 0]);
    await ledger.flush();
    await ledger.close();
    expect([ledger.written, ledger.dropped]).toEqual([3, 0]);
    expect(readdirSync(dir).sort()).toEqual(['usage.jsonl', 'usage.rotated.jsonl']);
    const costs: number[] = [];
    const read = await readLedgers([hook.rotated, path], { record: (r) => costs.push(r.costUsd ?? 0) });
    // Written: r-0 and a 10-byte tear in the rotated file, r-1 and r-2 in the new one. Read: 3 records, $0.003, the tear a retried write.
    // Before: the line written again carried no mark (the rotation made every line be retried): torn 1, partial (exit 3) though nothing was lost.
    expect({ records: read.records, retried: read.retried, torn: read.torn, partial: read.partial, costs }).toEqual({ records: 3, retried: 1, torn: 0, partial: false, costs: [0.001, 0.001, 0.001] });
  });
});
