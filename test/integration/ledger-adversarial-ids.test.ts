import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readLedgers } from '../../src/ledger/index.js';
import { toStored } from '../../src/ledger/ledger.js';
import { idField, withTear } from '../../src/ledger/record-ids.js';
import { usageRecord } from '../helpers/usage-records.js';

const W = 'AbCdEfGhIjKl';
const V = 'ZyXwVuTsRqPo';
const T0 = Date.UTC(2026, 10, 20, 10);
/** Record `n` of writer W as the JSON Lines ledger writes it (newline included). */
const lineOf = (n: number, writer = W): string => `${JSON.stringify({ id: idField(writer, n), ...toStored(usageRecord({ startedAt: T0 + n * 1000, requestId: `request-${n}`, costUsd: 0.001 })) })}\n`;

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-ledger-adversarial-ids-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('record ids against an unlucky ledger', () => {
  it('a marked line read twice (written again after a rotation) resolves one short torn line, not two: another writer\'s tear that was never retried stays a loss', async () => {
    // Writer W's flush tore record 0 seven bytes in ({"id":"); writer V was killed 7 bytes into its
    // record 0 (never written whole: lost). W's next flush wrote its record 0 marked
    // "tornBefore":[7] to a.jsonl, found the file rotated under it and wrote the batch again to
    // b.jsonl (same id, same mark). One mark, one tear retried; V's tear is a loss.
    const marked = withTear(lineOf(0), 7);
    expect(marked).toContain('"tornBefore":[7]');
    writeFileSync(join(dir, 'a.jsonl'), `${lineOf(0).slice(0, 7)}\n${lineOf(0, V).slice(0, 7)}\n${marked}`);
    writeFileSync(join(dir, 'b.jsonl'), `${marked}${lineOf(1)}`);
    const read = await readLedgers([join(dir, 'a.jsonl'), join(dir, 'b.jsonl')], { record: () => undefined });
    // W's records 0 and 1, record 0's second copy a duplicate; W's tear retried, V's a loss (exit 3).
    // Before: retried 2, torn 0, partial false (the mark counted on each copy: V's lost record hidden, exit 0).
    expect({ records: read.records, duplicates: read.duplicates, retried: read.retried, torn: read.torn, partial: read.partial }).toEqual({ records: 2, duplicates: 1, retried: 1, torn: 1, partial: true });
  });
});
