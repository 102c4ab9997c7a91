import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLedgers } from '../../src/ledger/index.js';
import { idField, RecordIds } from '../../src/ledger/record-ids.js';
import { storedLine, usageRecord } from '../helpers/usage-records.js';

const W = 'AbCdEfGhIjKl';
const line = (id: string): Buffer => Buffer.from(`{"id":"${id}","operation":"Converse","modelId":"m"}`);
const firsts = (ids: RecordIds, counters: readonly number[], writer = W): number => counters.filter((n) => ids.first(idField(writer, n), line(idField(writer, n)))).length;

describe('record ids against hostile and unlucky orders', () => {
  it('ids in any order, past the ranges spliced in (isolated counters kept in a set), are each new once and a duplicate after', () => {
    const ids = new RecordIds();
    const evensDown = Array.from({ length: 3000 }, (_, i) => 2 * (2999 - i));
    const odds = Array.from({ length: 3000 }, (_, i) => 2 * i + 1);
    const gapped = Array.from({ length: 3000 }, (_, i) => 10_000 + 3 * i);
    // 3,000 isolated counters descending (2,999 of them inserted before the last), then the gaps
    // between them, then every third past 10,000: 9,000 new; every one again: 9,000 duplicates.
    expect(firsts(ids, evensDown) + firsts(ids, odds) + firsts(ids, gapped)).toBe(9000);
    expect(firsts(ids, [...odds, ...evensDown, ...gapped].reverse())).toBe(0);
    expect(firsts(ids, [10_001, 10_002, 6000, 20_000])).toBe(4);
  });

  it('a writer read from its first record in order, then out of order, then another writer: each id counted once', () => {
    const ids = new RecordIds();
    expect(firsts(ids, [0, 1, 2, 3])).toBe(4);
    expect(firsts(ids, [2, 7, 5, 4, 6, 3, 8])).toBe(5);
    expect(firsts(ids, [0, 1, 2, 3, 4, 5, 6, 7, 8])).toBe(0);
    // A writer first read past its start (its first file deleted by retention).
    expect(firsts(ids, [40, 41, 39, 0, 41], 'ZyXwVuTsRqPo')).toBe(4);
    expect(firsts(ids, Array.from({ length: 10_000 }, (_, i) => i % 5), 'QqQqQqQqQqQq')).toBe(5);
  });

  it('hostile counters and marks: a 1 MiB counter or one past 36^10 is no id (counted, never de-duplicated); marks that are not lengths resolve nothing and do not throw', () => {
    const ids = new RecordIds();
    const huge = `${W}.${'9'.repeat(1 << 20)}`;
    expect([ids.first(huge, line('x')), ids.first(huge, line('x'))]).toEqual([true, true]);
    const top = idField(W, 36 ** 10 - 1);
    expect(top).toBe(`${W}.zzzzzzzzzz`);
    expect([ids.first(top, line(top)), ids.first(top, line(top))]).toEqual([true, false]);
    const torn = ids.hold(Buffer.from('{"id":"AbC'));
    const marks: unknown[] = [-1, 0, 1e9, Number.NaN, '10', null, { n: 10 }, [10], 10.5, ...Array.from({ length: 100_000 }, () => 3)];
    expect(ids.first(idField(W, 1), line(idField(W, 1)), marks)).toBe(true);
    expect(torn?.resolved).toBe(false);
    ids.first(idField(W, 2), line(idField(W, 2)), [10]);
    expect(torn?.resolved).toBe(true);
  });
});

describe('record ids are strings: a duplicate is the same id, not the same number', () => {
  it('ids differing only by leading zeros in the counter (w.1, w.01, w.001) are three records, not one and two duplicates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-ids-zeros-'));
    try {
      const path = join(dir, 'usage.jsonl');
      const rec = (id: string, i: number): string => `{"id":"${id}",${storedLine(usageRecord({ startedAt: Date.UTC(2026, 10, 20) + i, costUsd: 0.001 })).slice(1)}`;
      // Three records of a hand-made or foreign ledger; the writer never pads its base-36 counter, so only w.1 is its form.
      writeFileSync(path, `${[rec(`${W}.1`, 0), rec(`${W}.01`, 1), rec(`${W}.001`, 2), rec(`${W}.1`, 3)].join('\n')}\n`);
      const costs: number[] = [];
      const read = await readLedgers([path], { record: (r) => costs.push(r.costUsd ?? 0) });
      // Before: the counters parsed to one number (1): 1 record, 3 duplicates, $0.001. Now: w.1, w.01, w.001 are 3 records and the second w.1 the one duplicate: $0.003.
      expect({ records: read.records, duplicates: read.duplicates, costs }).toEqual({ records: 3, duplicates: 1, costs: [0.001, 0.001, 0.001] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('RecordIds: a counter with leading zeros is no ledger id (as a counter past 36^10): never taken for the record whose counter has none', () => {
    const ids = new RecordIds();
    const seq = [`${W}.1`, `${W}.01`, `${W}.01`, `${W}.1`, `${W}.0`, `${W}.00`, `${W}.0`];
    // Before: true, false, false, false, true, false, false (w.01 and w.00 taken for w.1 and w.0).
    expect(seq.map((id) => ids.first(id, line(id)))).toEqual([true, true, true, false, true, true, false]);
    // A torn line naming w.01 is not held for w.1's whole line (it names no record the writer made): torn.
    expect(ids.hold(Buffer.from(`{"id":"${W}.01","operation":"Conv`))).toBeUndefined();
  });
});

describe('torn lines matched to a mark read before them stay bounded', () => {
  it('a marked line then 100,001 copies of its torn line (a hostile file): 100,000 held as retried, the rest torn, nothing unbounded', () => {
    const ids = new RecordIds();
    const id = idField(W, 5);
    const whole = Buffer.from(`{"id":"${id}","operation":"Converse","modelId":"m","tornBefore":[30]}`);
    ids.first(id, whole, [30]);
    const torn = whole.subarray(0, 30);
    let held = 0;
    for (let i = 0; i < 100_001; i++) if (ids.hold(torn) !== undefined) held++;
    // Before the bound: every copy was kept as an entry (memory growing with the file).
    expect(held).toBe(100_000);
    expect(ids.heldLines().every((h) => h.resolved)).toBe(true);
  });
});

describe('torn lines naming one record cost linear time (a hostile file)', () => {
  it('100,000 distinct torn lines naming one id, then its whole line: the one it starts resolved, 99,999 torn, read at once', () => {
    const ids = new RecordIds();
    const id = idField(W, 1);
    const whole = Buffer.from(`{"id":"${id}","operation":"Converse","modelId":"m"}`);
    // Not timed (the project asserts no timings): each hold copied the id's list of keys, 100,000²/2 copies (~80 s
    // through the CLI for this 3.3 MB file), and this test failed on the suite's timeout; pushed, it answers at once.
    const held = Array.from({ length: 100_000 }, (_, i) => ids.hold(Buffer.from(i === 0 ? whole.subarray(0, 30) : `{"id":"${id}","x":${i}`)));
    expect(held.every((h) => h !== undefined)).toBe(true);
    expect(ids.first(id, whole)).toBe(true);
    expect(held.filter((h) => h?.resolved === true).length).toBe(1);
    expect(held[0]?.resolved).toBe(true);
  });

  it('100,000 torn lines of the same 2 bytes ({") and 99,999 records marked [2]: one resolved per mark, one left torn; a copy of a marked record resolves no more', () => {
    const ids = new RecordIds();
    const torn = Array.from({ length: 100_000 }, () => ids.hold(Buffer.from('{"')));
    for (let i = 0; i < 99_999; i++) ids.first(idField(W, i), line(idField(W, i)), [2]);
    expect(torn.filter((h) => h?.resolved === true).length).toBe(99_999);
    // The record written again (read twice) carries the same mark, for the same tear: counted once.
    expect(ids.first(idField(W, 5), line(idField(W, 5)), [2])).toBe(false);
    expect(torn.filter((h) => h?.resolved !== true).length).toBe(1);
  });
});
