import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonlLedger, otelLogLedger, readLedger, readLedgers, sqliteLedger, type UsageLogRecord } from '../../src/ledger/index.js';
import { parseWindow, UsageError } from '../../src/report/cli/usage-error.js';
import { FocusBuilder, rowObject } from '../../src/report/focus/focus-builder.js';
import { writeFocusCsv } from '../../src/report/focus/write-focus.js';
import { analyze, renderCsv, renderText } from '../../src/report/index.js';
import { nanoDecimal } from '../../src/report/money.js';
import { ReportBuilder } from '../../src/report/report-builder.js';
import { storedLine, usageRecord } from '../helpers/usage-records.js';

// An adversarial pass over the ledgers and the report: what a crashed writer, a hostile record or
// a hostile attribution value leaves in a ledger, what is read back and what the report says.
const T0 = Date.UTC(2026, 10, 20, 10);
const HOUR = 3_600_000;
const ARN = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/p1';
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-adv2-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ids = async (path: string): Promise<string[]> => (await readLedger(path)).records.map((r) => r.requestId ?? '');

describe('a JSON Lines ledger after a writer died mid-line', () => {
  it('ends the torn line before appending: the next process loses none of its records', async () => {
    // Written: one record, then half a record with no newline (a process killed mid-write), then 3 records by a new ledger.
    const path = join(dir, 'torn-tail.jsonl');
    const line = storedLine(usageRecord({ startedAt: T0, requestId: 'before', costUsd: 1 }));
    writeFileSync(path, `${line}\n${line}`);
    truncateSync(path, line.length + 1 + 40);
    const ledger = jsonlLedger({ path, flushIntervalMs: 3_600_000 });
    ledger.describe?.({ provisioned: { [ARN]: { modelUnits: 1, hourlyCostUsd: 20 } } });
    for (let i = 0; i < 3; i++) ledger.write(usageRecord({ startedAt: T0 + i, requestId: `after-${i}`, costUsd: 1 }));
    await ledger.close();
    // Read: every whole record and the header; the torn half is one skipped line. Before the fix the
    // header (or the first record) was glued to the torn half and lost with it.
    const seen: string[] = [];
    const headers: unknown[] = [];
    const read = await readLedgers([path], { record: (r) => seen.push(r.requestId ?? ''), header: (h) => headers.push(h.provisioned) });
    expect(seen).toEqual(['before', 'after-0', 'after-1', 'after-2']);
    expect(headers).toEqual([{ [ARN]: { modelUnits: 1, hourlyCostUsd: 20 } }]);
    expect(read.torn).toBe(1);
    expect(ledger.written).toBe(3);
  });
});

describe('records that settle after the ledger was closed (a call in flight at shutdown)', () => {
  it('a JSON Lines ledger writes them straight to the file', async () => {
    const path = join(dir, 'late.jsonl');
    const ledger = jsonlLedger({ path, flushIntervalMs: 3_600_000 });
    ledger.write(usageRecord({ startedAt: T0, requestId: 'in-time' }));
    await ledger.close();
    ledger.write(usageRecord({ startedAt: T0 + 1, requestId: 'late' }));
    // Before: the late record was neither written nor counted as dropped.
    expect(await ids(path)).toEqual(['in-time', 'late']);
    expect({ written: ledger.written, dropped: ledger.dropped }).toEqual({ written: 2, dropped: 0 });
  });

  it('a SQLite ledger, whose writer thread is gone, counts them as dropped', async () => {
    const path = join(dir, 'late.db');
    const ledger = await sqliteLedger({ path, flushIntervalMs: 3_600_000 });
    ledger.write(usageRecord({ startedAt: T0, requestId: 'in-time' }));
    await ledger.close();
    ledger.write(usageRecord({ startedAt: T0 + 1, requestId: 'late' }));
    expect(await ids(path)).toEqual(['in-time']);
    expect({ written: ledger.written, dropped: ledger.dropped }).toEqual({ written: 1, dropped: 1 });
  });

  it('an OpenTelemetry log ledger still emits them to the application’s provider', async () => {
    const emitted: UsageLogRecord[] = [];
    const ledger = await otelLogLedger({ loggerProvider: { getLogger: () => ({ emit: (r) => emitted.push(r) }) } });
    await ledger.close();
    ledger.write(usageRecord({ startedAt: T0, requestId: 'late' }));
    expect(emitted.map((r) => r.attributes['bedrock_finops.request_id'])).toEqual(['late']);
    expect(ledger.written).toBe(1);
  });
});

describe('a record that cannot be stored', () => {
  it('a SQLite ledger counts a record with startedAt NaN as dropped and writes the others (it threw out of a timer, ending the application)', async () => {
    const path = join(dir, 'nan.db');
    const ledger = await sqliteLedger({ path, flushIntervalMs: 3_600_000 });
    ledger.write(usageRecord({ startedAt: Number.NaN, requestId: 'nan' }));
    ledger.write(usageRecord({ startedAt: T0, requestId: 'good' }));
    await ledger.flush();
    await ledger.close();
    expect(await ids(path)).toEqual(['good']);
    expect({ written: ledger.written, dropped: ledger.dropped }).toEqual({ written: 1, dropped: 1 });
  });
});

describe('a record whose startedAt has no offset (a hand-written or converted ledger)', () => {
  it('is read as UTC, as the ledger writes times, whatever the time zone the report runs in', async () => {
    const path = join(dir, 'no-offset.jsonl');
    writeFileSync(path, `${JSON.stringify({ ...JSON.parse(storedLine(usageRecord({ startedAt: T0 }))), startedAt: '2026-11-20T10:00:00' })}\n`);
    const tz = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      // Before: read at 15:00Z in New York, at 10:00Z in UTC; a --until 2026-11-20T12:00 window dropped it in one and kept it in the other.
      const { records } = await readLedger(path);
      expect(records.map((r) => r.startedAt)).toEqual([T0]);
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });
});

describe('records with absurd numbers', () => {
  const good = usageRecord({ startedAt: T0 + 2, requestId: 'good', inputTokens: 10, costUsd: 0.5 });
  const lines = [
    storedLine(usageRecord({ startedAt: T0, inputTokens: 1e308, outputTokens: 1e308, costUsd: 1e308 })),
    storedLine(usageRecord({ startedAt: T0 + 1, inputTokens: 10, costUsd: 1e7 })),
    JSON.stringify({ ...JSON.parse(storedLine(good)), startedAt: 9e15 }),
    JSON.stringify({ ...JSON.parse(storedLine(good)), startedAt: 0 }),
    storedLine(good),
  ];

  it('are skipped and counted, not added: totals stay finite and exact, and a time past year 9999 no longer throws', async () => {
    // Written: 1e308 tokens and $1e308; a $10 million call; startedAt 9e15 (year 287,000); startedAt 0 (1970); one real $0.50 call.
    const path = join(dir, 'absurd.jsonl');
    writeFileSync(path, lines.map((l) => `${l}\n`).join(''));
    const builder = new ReportBuilder({ by: ['team'] });
    const read = await readLedgers([path], builder);
    const report = builder.build();
    // Before: totals were Infinity (JSON null), or the report threw "Invalid time value".
    expect(read).toMatchObject({ records: 1, mistyped: 4 });
    expect(report.totals).toMatchObject({ calls: 1, inputTokens: 10, costUsd: 0.5, totalCostUsd: 0.5 });
    expect(report.from).toBe(new Date(T0 + 2).toISOString());
  });

  it('the FOCUS export of the same ledger bills the real call only, as a decimal', async () => {
    const path = join(dir, 'absurd-focus.jsonl');
    writeFileSync(path, lines.map((l) => `${l}\n`).join(''));
    const focus = new FocusBuilder();
    await readLedgers([path], focus);
    const rows = [...focus.rows()];
    // Before: BilledCost "0.0Infinity", ConsumedQuantity "Infinity".
    expect(rows.map((r) => [r.BilledCost, r.ConsumedQuantity, r.PricingQuantity])).toEqual([['0.500000000', '10', '0.000010']]);
  });

  it('money and token sums past 1e21 are still written as plain decimals, never in exponent form', () => {
    // 200,000 calls at the largest cost a record may hold ($9,007,199 each) sum past 1e21 nano-USD.
    const focus = new FocusBuilder();
    for (let i = 0; i < 200_000; i++) focus.record(usageRecord({ startedAt: T0, inputTokens: Number.MAX_SAFE_INTEGER, costUsd: 9_007_199 }));
    const [row] = [...focus.rows()];
    expect(row?.BilledCost).toMatch(/^\d+\.\d{9}$/);
    expect(row?.ConsumedQuantity).toMatch(/^\d+$/);
    expect(row?.x_InputTokens).toMatch(/^\d+$/);
    expect(nanoDecimal(1e21)).toBe('1000000000000.000000000');
  });

  it('a header claiming an hourly cost of 1e300 is ignored, not an Infinity commitment', async () => {
    const path = join(dir, 'absurd-header.jsonl');
    const header = { type: 'bedrock-finops.header', writtenAt: new Date(T0).toISOString(), pid: 1, provisioned: { [ARN]: { modelUnits: 1, hourlyCostUsd: 1e300 } } };
    writeFileSync(path, `${JSON.stringify(header)}\n${storedLine(usageRecord({ startedAt: T0, modelId: ARN, modelKind: 'provisioned-model', costUsd: 0 }))}\n`);
    const builder = new ReportBuilder();
    await readLedgers([path], builder);
    const report = builder.build();
    expect(report.totals.commitmentCostUsd).toBe(0);
    expect(report.provisioned[0]).toMatchObject({ arn: ARN, modelUnits: 1, hourlyCostUsd: undefined });
  });
});

describe('a provisioned commitment over a window that reaches into the future', () => {
  // Read: a header (1 model unit at $20 an hour) and one call at T0; the report asked for --until 2099-01-01, run at T0 + 10 h.
  const header = { type: 'bedrock-finops.header' as const, writtenAt: new Date(T0).toISOString(), pid: 1, provisioned: { [ARN]: { modelUnits: 1, hourlyCostUsd: 20 } } };
  const call = usageRecord({ startedAt: T0, modelId: ARN, modelKind: 'provisioned-model', inputTokens: 100, costUsd: 0, onDemandEquivalentUsd: 0.01 });
  const until = Date.UTC(2099, 0, 1);
  const now = T0 + 10 * HOUR;

  it('the report charges the hours up to now, not to 2099 ($200, not $12.6 million)', () => {
    const builder = new ReportBuilder({ until, now });
    builder.header(header);
    builder.record(call);
    const report = builder.build();
    expect(report.totals.commitmentCostUsd).toBe(200);
    expect(report.provisioned[0]?.hours).toBe(10);
  });

  it('the FOCUS export writes the commitment rows of those 10 hours (632,000 rows before)', () => {
    const focus = new FocusBuilder({ until, now });
    focus.header(header);
    focus.record(call);
    const commitments = [...focus.rows()].filter((r) => r.x_ChargeSource === 'provisioned-commitment');
    expect(commitments).toHaveLength(10);
    expect(commitments.at(-1)?.ChargePeriodStart).toBe(new Date(T0 + 9 * HOUR).toISOString().replace('.000', ''));
    expect(focus.commitmentNano).toBe(200e9);
  });
});

describe('hostile attribution values in the report', () => {
  const hostile = ['=cmd|\' /C calc\'!A0', '+SUM(1)', '@x', 'line1\nFAKE total cost $0.00', '\u001b[2J\u001b[31mred', 'a\u2028b', '\u202Eevil', 'x'.repeat(500)];
  const records = hostile.map((team, i) => usageRecord({ startedAt: T0 + i, attribution: { team, feature: team }, inputTokens: 10, costUsd: 0.01 }));

  it('the text report shows control characters as escapes: no fake lines, no terminal escape sequences, long labels clipped', () => {
    const text = renderText(analyze(records, { by: ['team'] }));
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/);
    expect(text.split('\n').filter((l) => l.startsWith('FAKE'))).toEqual([]);
    expect(text).toContain('line1\\nFAKE total cost $0.00');
    expect(text).toContain('\\e[2J\\e[31mred');
    expect(text).toContain('\\u202eevil');
    expect(Math.max(...text.split('\n').map((l) => l.length))).toBeLessThan(200);
    expect(text).toContain(`${'x'.repeat(63)}…`);
  });

  it('the CSV report neutralises formulas with a leading quote and keeps numbers as they are', () => {
    const csv = renderCsv(analyze(records, { by: ['team'] }));
    const teams = csv.split('\r\n').slice(1).map((l) => l.split(',')[1]);
    expect(teams).toEqual(expect.arrayContaining(["'=cmd|' /C calc'!A0", "'+SUM(1)", "'@x"]));
    expect(csv).not.toMatch(/(^|,)[=+@]/m);
    expect(csv).toMatch(/,0\.010000000\r\n/);
  });

  it('the FOCUS CSV neutralises a formula in a model id (ResourceId, ResourceName, SkuId)', async () => {
    const focus = new FocusBuilder();
    focus.record(usageRecord({ startedAt: T0, modelId: '=HYPERLINK("http://x")', costUsd: 0.01 }));
    const out = new PassThrough();
    let csv = '';
    out.on('data', (b: Buffer) => (csv += b.toString()));
    await writeFocusCsv(focus.values(), out);
    expect(csv).not.toMatch(/(^|,)"?=/m);
    expect(rowObject([...focus.values()][0] ?? []).ResourceId).toBe('=HYPERLINK("http://x")');
  });

  it('--by a name Object.prototype has (constructor, toString, __proto__) groups by that attribution key and does not throw', () => {
    const report = analyze([usageRecord({ startedAt: T0, attribution: { team: 'a' } }), usageRecord({ startedAt: T0, attribution: { constructor: 'c1' } })], { by: ['constructor', 'toString', '__proto__'] });
    expect(report.breakdowns.map((b) => b.rows.map((r) => r.key).sort())).toEqual([['(none)', 'c1'], ['(none)'], ['(none)']]);
    expect(() => renderText(report)).not.toThrow();
  });
});

describe('--since and --until', () => {
  it('an impossible day (2026-02-30, 2026-02-29, 2026-04-31) is a usage error, not a window shifted into the next month; real days still parse', () => {
    // Before: Date.parse rolled 2026-02-30 over to March 2 and 2026-04-31 to May 1, silently.
    for (const value of ['2026-02-30', '2026-02-29', '2026-04-31T10:00']) {
      expect(() => parseWindow(value, undefined)).toThrow(UsageError);
      expect(() => parseWindow(undefined, value)).toThrow(/not a valid date/);
    }
    expect(parseWindow('2028-02-29', '2029-11-20T09:00:00+01:00')).toEqual({ since: Date.UTC(2028, 1, 29), until: Date.UTC(2029, 10, 20, 8) });
  });
});
