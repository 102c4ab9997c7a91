import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../src/index.js';
import { jsonlLedger, readLedgers } from '../../src/ledger/index.js';
import { usageRecord } from '../helpers/usage-records.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-own-fields-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('a record handed to the ledger with fields named like the ledger\'s own', () => {
  it('its own id and tornBefore do not replace the record id and marks the ledger writes: the line written again after a rotation is counted once', async () => {
    const path = join(dir, 'usage.jsonl');
    const ledger = jsonlLedger({ path, flushIntervalMs: 3_600_000 });
    // An app that replays or enriches records before writing them (its own id, a stray tornBefore).
    ledger.write({ ...usageRecord({ startedAt: Date.UTC(2026, 10, 20), requestId: 'r-0', costUsd: 0.001 }), id: 'order-7', tornBefore: [7] } as UsageRecord);
    await ledger.close();
    const line = readFileSync(path, 'utf8');
    expect(line).toMatch(/^\{"id":"[A-Za-z0-9_-]{12}\.0","operation"/);
    expect(line).not.toContain('tornBefore');
    // A 7-byte tear of another writer, never retried, then the line twice (a batch written again: it may have landed in a rotated file).
    writeFileSync(path, `{"id":"\n${line}${line}`);
    const costs: number[] = [];
    const read = await readLedgers([path], { record: (r) => costs.push(r.costUsd ?? 0) });
    // Before: the line's id was 'order-7' (not a ledger id: never de-duplicated) and its stray mark resolved the tear:
    // 2 records, $0.002 for one call of $0.001, duplicates 0, and the other writer's loss hidden (torn 0, retried 1, not partial).
    expect({ records: read.records, duplicates: read.duplicates, torn: read.torn, retried: read.retried, partial: read.partial, costs }).toEqual({ records: 1, duplicates: 1, torn: 1, retried: 0, partial: true, costs: [0.001] });
  });
});
