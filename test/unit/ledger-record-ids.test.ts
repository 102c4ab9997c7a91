import { describe, expect, it } from 'vitest';
import { idField, RecordIds } from '../../src/ledger/record-ids.js';

const W = 'AbCdEfGhIjKl';
const line = (id: string, rest = '"operation":"Converse","modelId":"m"}'): Buffer => Buffer.from(`{"id":"${id}",${rest}`);

describe('record ids as the report reads them', () => {
  it('a record id read a second time is a duplicate, in any order; other writers and lines without an id never are', () => {
    const ids = new RecordIds();
    const order = [5, 3, 4, 9, 0, 1, 2, 8, 6, 7];
    // Ten ids of one writer out of order: each new once (the ranges merge into one), each a duplicate after.
    expect(order.map((n) => ids.first(idField(W, n), line('x')))).toEqual(order.map(() => true));
    expect(order.map((n) => ids.first(idField(W, n), line('x')))).toEqual(order.map(() => false));
    expect(ids.first(idField('ZyXwVuTsRqPo', 5), line('x'))).toBe(true);
    expect(ids.first(undefined, line('x'))).toBe(true);
    expect(ids.first(undefined, line('x'))).toBe(true);
    // Not this ledger's id shape: never de-duplicated.
    expect(ids.first('my-own-id', line('x'))).toBe(true);
    expect(ids.first('my-own-id', line('x'))).toBe(true);
    expect(ids.first(`${W}.${(2 ** 60).toString(36)}`, line('x'))).toBe(true);
  });

  it('a torn line is resolved only by a later whole line of the same id that starts with its bytes', () => {
    const ids = new RecordIds();
    const id = idField(W, 41);
    const whole = line(id, '"operation":"Converse","modelId":"m","costUsd":1}');
    const retried = ids.hold(whole.subarray(0, 40));
    const garbled = ids.hold(Buffer.concat([whole.subarray(0, 30), Buffer.from('#'), whole.subarray(31, 45)]));
    const otherId = ids.hold(line(idField(W, 42)).subarray(0, 35));
    // Too short to hold the whole id (and its closing quote): held, but only a line marked with its length resolves it.
    const short = ids.hold(whole.subarray(0, 20));
    expect(ids.hold(Buffer.from('garbage'))).toBeUndefined();
    expect(ids.first(id, whole)).toBe(true);
    expect(retried?.resolved).toBe(true);
    expect(garbled?.resolved).toBe(false);
    expect(otherId?.resolved).toBe(false);
    expect(short?.resolved).toBe(false);
    expect(ids.heldLines()).toHaveLength(4);
  });

  it('a line torn before its id was whole is resolved one for one by a later line marked with its length ("tornBefore") that starts with its bytes', () => {
    const ids = new RecordIds();
    const whole = line(idField(W, 7), '"operation":"Converse","tornBefore":[10,4]}');
    const ten = ids.hold(whole.subarray(0, 10));
    const tenAgain = ids.hold(whole.subarray(0, 10));
    const four = ids.hold(whole.subarray(0, 4));
    const otherWriter = ids.hold(Buffer.from('{"id":"Zy'));
    const notOurs = ids.hold(Buffer.from('{"op'));
    expect(notOurs).toBeUndefined();
    expect(ids.first(idField(W, 7), whole, [10, 4, 9])).toBe(true);
    // [10, 4]: one of the two 10-byte lines (identical: either) and the 4-byte one; the other 10-byte line stays torn; 9 matches nothing (no line of 9 bytes).
    expect([[ten, tenAgain].filter((t) => t?.resolved === true).length, four?.resolved, otherWriter?.resolved]).toEqual([1, true, false]);
    // A mark on a line the torn bytes do not start: nothing resolved.
    const other = ids.hold(Buffer.from('{"id":"Qq'));
    ids.first(idField(W, 8), line(idField(W, 8)), [9]);
    expect(other?.resolved).toBe(false);
  });
});

describe('torn lines matched in whichever order they are read', () => {
  it('a whole line marked with its tear, read before the torn line: the torn line (and a copy of it) resolved; bytes that differ are not', () => {
    const ids = new RecordIds();
    const id = idField(W, 3);
    const whole = line(id, '"operation":"Converse","modelId":"m","costUsd":1,"tornBefore":[40]}');
    expect(ids.first(id, whole, [40])).toBe(true);
    const torn = ids.hold(whole.subarray(0, 40));
    const copy = ids.hold(whole.subarray(0, 40));
    const garbled = ids.hold(Buffer.concat([whole.subarray(0, 30), Buffer.from('#'), whole.subarray(31, 40)]));
    // Before: the mark was only matched against torn lines already held: all three stayed torn.
    expect([torn?.resolved, copy?.resolved, garbled?.resolved]).toEqual([true, true, false]);
  });

  it('a short tear (no whole id) marked on a line read first is matched one for one; a copy of the line does not count its marks again', () => {
    const ids = new RecordIds();
    const id = idField(W, 4);
    const whole = line(id, '"operation":"Converse","tornBefore":[10]}');
    expect(ids.first(id, whole, [10])).toBe(true);
    expect(ids.first(id, whole, [10])).toBe(false);
    const first = ids.hold(whole.subarray(0, 10));
    const second = ids.hold(whole.subarray(0, 10));
    expect([first?.resolved, second?.resolved]).toEqual([true, false]);
  });

  it('a torn header: resolved by a header marked with its length, read after it or before it; a whole header it starts without that mark (another process\'s: a header names no writer) resolves nothing', () => {
    const ids = new RecordIds();
    const header = (pid: number, mark = ''): Buffer => Buffer.from(`{"type":"bedrock-finops.header","writtenAt":"2026-11-20T10:00:0${pid}.000Z","pid":${pid},"provisioned":{}${mark}}`);
    const before = ids.hold(header(1).subarray(0, 50));
    const other = ids.hold(header(2).subarray(0, 70));
    // Its 50 bytes start every header of 2026-11-20 (pid 2's too): an unmarked whole header is no proof it was written again.
    ids.header(header(2));
    ids.header(header(1));
    expect([before?.resolved, other?.resolved, before?.header, ids.hold(Buffer.from('{"ty'))?.header]).toEqual([false, false, true, true]);
    ids.header(header(1, ',"tornBefore":[50]'), [50]);
    expect([before?.resolved, other?.resolved]).toEqual([true, false]);
    ids.header(header(3, ',"tornBefore":[55]'), [55]);
    const after = ids.hold(header(3).subarray(0, 55));
    expect(after?.resolved).toBe(true);
  });
});
