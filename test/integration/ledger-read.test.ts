import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerInputError, parseRecord, readLedgers } from '../../src/ledger/index.js';
import type { UsageRecord } from '../../src/index.js';
import { mergeHeaders, storedHeader } from '../../src/ledger/header.js';
import { storedLine, usageRecord, writeJsonl } from '../helpers/usage-records.js';

const T0 = Date.UTC(2026, 10, 20, 9);
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-read-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const collect = async (args: string[], window = {}) => {
  const records: UsageRecord[] = [];
  const summary = await readLedgers(args, { record: (r) => records.push(r) }, window);
  return { records, summary };
};

describe('parsing stored records', () => {
  const good = JSON.parse(storedLine(usageRecord({ startedAt: T0, attribution: { team: 'a' }, inputTokens: 5, costUsd: 0.5 }))) as Record<string, unknown>;

  it('accepts a stored record and restores startedAt as epoch milliseconds', () => {
    expect(parseRecord(good)).toMatchObject({ startedAt: T0, attribution: { team: 'a' }, inputTokens: 5, costUsd: 0.5 });
  });

  it.each([
    ['attribution null', { attribution: null }],
    ['an attribution value that is a number', { attribution: { team: 7 } }],
    ['tokens as a string', { inputTokens: '5' }],
    ['a negative token count', { outputTokens: -1 }],
    ['cost as a string', { costUsd: '0.5' }],
    ['an unknown operation', { operation: 'Chat' }],
    ['no model id', { modelId: undefined }],
    ['an unparseable start time', { startedAt: 'yesterday' }],
    ['a fallback without a reason', { fallback: { from: 'x' } }],
    ['an array', null],
  ])('rejects %s as mistyped, never throwing', (_, change) => {
    expect(parseRecord(change === null ? [good] : { ...good, ...change })).toBe('mistyped');
  });
});

describe('readLedgers', () => {
  it('streams several ledgers, skipping and counting torn and mistyped lines, and hands headers over', async () => {
    const a = join(dir, 'a.jsonl');
    const header = JSON.stringify(storedHeader({ provisioned: { 'arn:aws:bedrock:us-east-1:1:provisioned-model/p': { modelUnits: 2, hourlyCostUsd: 20 } } }));
    writeJsonl(a, [usageRecord({ startedAt: T0, costUsd: 1 })], [header, '{"operation":"Converse",', JSON.stringify({ ...JSON.parse(storedLine(usageRecord({ startedAt: T0 }))), attribution: null })]);
    const b = join(dir, 'b.jsonl.gz');
    writeFileSync(b, gzipSync(`${storedLine(usageRecord({ startedAt: T0 + 1, costUsd: 2 }))}\n`));
    const headers: unknown[] = [];
    const records: UsageRecord[] = [];
    const s = await readLedgers([a, b], { record: (r) => records.push(r), header: (h) => headers.push(h) });
    expect(records.map((r) => r.costUsd)).toEqual([1, 2]);
    expect(s).toMatchObject({ records: 2, torn: 1, mistyped: 1, headers: 1, files: [a, b] });
    expect(headers).toHaveLength(1);
  });

  it('reads a path’s rotated files first, oldest first (this naming and the numbered one), each file once', async () => {
    const sub = join(dir, 'rot');
    mkdirSync(sub);
    const path = join(sub, 'usage.jsonl');
    writeJsonl(join(sub, 'usage.jsonl.2'), [usageRecord({ startedAt: T0, requestId: 'legacy-2' })]);
    writeJsonl(join(sub, 'usage.jsonl.1'), [usageRecord({ startedAt: T0, requestId: 'legacy-1' })]);
    writeJsonl(join(sub, 'usage.20261120T090000Z.11.1.jsonl'), [usageRecord({ startedAt: T0, requestId: 'r-11-1' })]);
    writeFileSync(join(sub, 'usage.20261120T100000Z.7.1.jsonl.gz'), gzipSync(`${storedLine(usageRecord({ startedAt: T0, requestId: 'r-7-1' }))}\n`));
    writeJsonl(path, [usageRecord({ startedAt: T0, requestId: 'active' })]);
    const { records } = await collect([path, join(sub, '*.jsonl')]);
    expect(records.map((r) => r.requestId)).toEqual(['legacy-2', 'legacy-1', 'r-11-1', 'r-7-1', 'active']);
  });

  it('keeps only records inside --since (inclusive) and --until (exclusive), counting the rest', async () => {
    const path = join(dir, 'window.jsonl');
    writeJsonl(path, [0, 1, 2, 3].map((h) => usageRecord({ startedAt: T0 + h * 3_600_000, requestId: `h${h}` })));
    const { records, summary } = await collect([path], { since: T0 + 3_600_000, until: T0 + 3 * 3_600_000 });
    expect(records.map((r) => r.requestId)).toEqual(['h1', 'h2']);
    expect(summary.outside).toBe(2);
  });

  it.each([
    ['a missing file', () => join(dir, 'nope.jsonl'), /nope\.jsonl: no such file/],
    ['a directory', () => dir, /is a directory/],
    ['a glob that matches nothing', () => join(dir, 'none-*.jsonl'), /none-\*\.jsonl: matches no file/],
    ['an empty file', () => (writeFileSync(join(dir, 'empty.jsonl'), ''), join(dir, 'empty.jsonl')), /empty\.jsonl: no usage records/],
    ['a file of unreadable lines only', () => (writeFileSync(join(dir, 'junk.jsonl'), 'x\n{}\n'), join(dir, 'junk.jsonl')), /junk\.jsonl: no usage records \(2 unreadable lines\)/],
  ])('refuses %s, naming the path', async (_, make, message) => {
    const err = await readLedgers([make()], { record: () => undefined }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerInputError);
    expect((err as Error).message).toMatch(message);
  });
});

describe('ledger headers', () => {
  it('merge per ARN field by field, the later header winning, and drop values that are not positive numbers', () => {
    const arn = 'arn:aws:bedrock:us-east-1:1:provisioned-model/p';
    const older = { ...storedHeader({ provisioned: { [arn]: { modelUnits: 1, hourlyCostUsd: 10 } } }, T0) };
    const newer = storedHeader({ provisioned: { [arn]: { modelUnits: 2, hourlyCostUsd: -3 } } }, T0 + 1);
    expect(mergeHeaders([newer, older])).toEqual({ [arn]: { modelUnits: 2, hourlyCostUsd: 10 } });
  });
});
