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
    // Too short to hold the whole id (and its closing quote): not held, counted torn at once.
    expect(ids.hold(whole.subarray(0, 20))).toBeUndefined();
    expect(ids.hold(Buffer.from('garbage'))).toBeUndefined();
    expect(ids.first(id, whole)).toBe(true);
    expect(retried?.resolved).toBe(true);
    expect(garbled?.resolved).toBe(false);
    expect(otherId?.resolved).toBe(false);
    expect(ids.heldLines()).toHaveLength(3);
  });
});
