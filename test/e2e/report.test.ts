import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storedHeader } from '../../src/ledger/header.js';
import type { Report } from '../../src/report/index.js';
import type { UsageRecord } from '../../src/index.js';
import { nanoSum, storedLine, usageRecord } from '../helpers/usage-records.js';

const root = resolve(import.meta.dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const ARN = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123def456';
const HAIKU3 = 'anthropic.claude-3-haiku-20240307-v1:0';
const T0 = Date.UTC(2026, 10, 20);
let dir = '';
let ledger = '';
const records: UsageRecord[] = [];

/**
 * A ledger with every section filled: 3 teams × 2 features over 3 days with known costs, cache
 * reads on Sonnet, a non-interactive feature, a provisioned model (header: 1 unit, $21/h) that
 * spills 5 calls in its busiest minute, and one torn line.
 */
function write(path: string): void {
  const lines: string[] = [JSON.stringify(storedHeader({ provisioned: { [ARN]: { model: HAIKU3, modelUnits: 1, hourlyCostUsd: 21 } } }, T0))];
  const add = (r: UsageRecord) => {
    records.push(r);
    lines.push(storedLine(r));
  };
  for (let day = 0; day < 3; day++)
    for (const [t, team] of ['search', 'support', 'ads'].entries())
      for (const [f, feature] of ['chat', 'summarize'].entries())
        for (let i = 0; i < 5; i++)
          add(usageRecord({ startedAt: T0 + day * 86_400_000 + i * 60_000, modelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', modelKind: 'inference-profile', attribution: { team, feature, ...(feature === 'summarize' ? { interactive: 'false' } : {}) }, inputTokens: 100 * (i + 1), cacheReadInputTokens: f === 0 ? 2_000 : 0, outputTokens: 20, costUsd: (t + 1) * 0.001 + f * 0.0005 }));
  for (let i = 0; i < 12; i++) add(usageRecord({ startedAt: T0 + 3_600_000 + i * 2_000, modelId: ARN, modelKind: 'provisioned-model', attribution: { team: 'support', feature: 'triage' }, inputTokens: 900, outputTokens: 100, costUsd: 0, onDemandEquivalentUsd: 0.00035 }));
  for (let i = 0; i < 5; i++) add(usageRecord({ startedAt: T0 + 3_600_000 + 30_000 + i, modelId: `us.${HAIKU3}`, modelKind: 'inference-profile', fallback: { from: ARN, reason: 'ThrottlingException' }, attribution: { team: 'support', feature: 'triage' }, inputTokens: 900, outputTokens: 100, costUsd: 0.00035 }));
  lines.push('{"torn":');
  writeFileSync(path, `${lines.join('\n')}\n`);
}

// The ledger holds a torn line on purpose: --allow-partial accepts it (exit 0; without it the exit code is 3).
const cli = (...args: string[]): string => execFileSync(tsx, [join(root, 'src/cli.ts'), ...args, '--allow-partial'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-report-'));
  ledger = join(dir, 'ledger.jsonl');
  write(ledger);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npx bedrock-finops report', () => {
  it('prints the report as JSON with the known totals, one table per --by, and the commitment from the ledger header', () => {
    const report = JSON.parse(cli('report', ledger, '--json', '--by', 'team', '--by', 'day')) as Report;
    expect(report.totals.calls).toBe(107);
    expect(Math.round(report.totals.costUsd * 1e9)).toBe(nanoSum(records.map((r) => r.costUsd)));
    expect(report.breakdowns.map((b) => b.dimension)).toEqual(['team', 'day']);
    expect(report.breakdowns[1]!.rows.map((r) => [r.key, r.calls]).sort()).toEqual([
      ['2026-11-20', 47],
      ['2026-11-21', 30],
      ['2026-11-22', 30],
    ]);
    const p = report.provisioned[0]!;
    // The header says 1 unit at $21/h; the ledger spans 2 days + 4 minutes → 49 paid hours.
    expect(p).toMatchObject({ arn: ARN, model: HAIKU3, modelUnits: 1, calls: 12, spilled: 5, hours: 49, commitmentCostUsd: 21 * 49, capacitySource: 'estimated-from-spills', verdict: { decision: 'drop-or-shrink' } });
    expect(report.totals.commitmentCostUsd).toBe(21 * 49);
  });

  it('writes an HTML page at parity with the JSON, laid out without overflow, checked in headless Chromium', () => {
    const report = JSON.parse(cli('report', ledger, '--json')) as Report;
    const html = join(dir, 'report.html');
    cli('report', ledger, '--html', html);
    const page = readFileSync(html, 'utf8');
    expect(page).not.toMatch(/<script(?![^>]*type="application\/json")/);
    expect(page).not.toMatch(/(src|href)="https?:/);
    // A copy with a probe that measures the laid-out page and writes what it saw into the DOM.
    const probe = `<script>(function(){
      var out = {}, vw = document.documentElement.clientWidth;
      out.overflowX = document.documentElement.scrollWidth > vw;
      out.sections = Array.from(document.querySelectorAll('body > section, body > h2')).map(function (s) { var r = s.getBoundingClientRect(); return { id: s.id || s.textContent.slice(0, 40), top: r.top, bottom: r.bottom, height: r.height }; });
      out.charts = Array.from(document.querySelectorAll('svg[data-chart]')).map(function (svg) {
        var box = svg.getBoundingClientRect(), inside = Array.from(svg.querySelectorAll('rect,text')).every(function (e) { var r = e.getBoundingClientRect(); return r.left >= box.left - 1 && r.right <= box.right + 1 && r.top >= box.top - 1 && r.bottom <= box.bottom + 1; });
        return { chart: svg.getAttribute('data-chart'), width: box.width, height: box.height, inside: inside, bars: svg.querySelectorAll('rect').length, ticks: Array.from(svg.querySelectorAll('text.tick')).map(function (t) { return t.textContent; }), values: Array.from(svg.querySelectorAll('text.value')).map(function (t) { return t.textContent; }) };
      });
      out.tables = {};
      document.querySelectorAll('table[data-table]').forEach(function (t) { out.tables[t.getAttribute('data-table')] = Array.from(t.querySelectorAll('tbody tr')).map(function (tr) { return Array.from(tr.children).map(function (td) { return td.innerText.trim(); }); }); });
      out.verdicts = Array.from(document.querySelectorAll('[data-verdict]')).map(function (v) { return v.textContent; });
      out.hints = Array.from(document.querySelectorAll('[data-hint]')).map(function (h) { return h.textContent; });
      var pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
    })();</script>`;
    const probed = join(dir, 'probed.html');
    writeFileSync(probed, page.replace('</body>', `${probe}</body>`));
    const chrome = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${mkdtempSync(join(dir, 'chrome-'))}`, '--window-size=1280,2000'];
    const dom = execFileSync('/usr/bin/chromium', [...chrome, '--dump-dom', `file://${probed}`], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] });
    const seen = JSON.parse(/<pre id="probe">([^<]*)<\/pre>/.exec(dom)![1]!.replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>')) as {
      overflowX: boolean;
      sections: { id: string; top: number; bottom: number; height: number }[];
      charts: { chart: string; width: number; height: number; inside: boolean; bars: number; ticks: string[]; values: string[] }[];
      tables: Record<string, string[][]>;
      verdicts: string[];
      hints: string[];
    };
    // Layout: no horizontal overflow; every section has height and follows the previous one.
    expect(seen.overflowX).toBe(false);
    for (const id of ['totals', 'cost-over-time-section', 'percentiles', 'inflation', 'ratio', 'cache', 'provisioned', 'hints']) expect(seen.sections.find((s) => s.id === id)?.height, id).toBeGreaterThan(20);
    for (let i = 1; i < seen.sections.length; i++) expect(seen.sections[i]!.top).toBeGreaterThanOrEqual(seen.sections[i - 1]!.bottom - 1);
    // Charts: drawn inside their boxes, with 5 axis ticks and values.
    const chart = (id: string) => seen.charts.find((c) => c.chart === id)!;
    for (const c of seen.charts) {
      expect(c.inside, c.chart).toBe(true);
      expect(c.width).toBeGreaterThan(300);
      expect(c.ticks).toHaveLength(5);
    }
    // 3 days × 3 teams stacked, with each day's total written above its bar.
    expect(chart('cost-over-time').bars).toBe(9);
    expect(chart('cost-over-time').values).toHaveLength(3);
    expect(chart('input-percentiles').bars).toBe(3 * (2 + 1 + 1));
    expect(chart('provisioned-hourly').bars).toBe(1);
    // Numbers: the tables say what the JSON says.
    const totals: Record<string, string | undefined> = Object.fromEntries(seen.tables.totals!.map(([k = '', v = '']) => [k, v]));
    expect(totals.calls).toBe('107');
    expect(totals['skipped ledger lines']).toBe('1');
    expect(totals['provisioned commitments']).toBe('$1,029.00');
    expect(totals['failed calls']).toBe('0');
    const byTeam = seen.tables['by:team']!;
    expect(byTeam.map((r) => [r[0], r[1]])).toEqual(report.breakdowns[0]!.rows.map((r) => [r.key, String(r.calls)]));
    expect(seen.tables.percentiles!.map((r) => r.slice(3).join(' '))).toEqual(report.inputPercentiles.map((p) => [p.p50, p.p95, p.p99].map((n) => n.toLocaleString('en-US')).join(' ')));
    expect(seen.tables.inflation).toHaveLength(report.contextInflation.length);
    expect(seen.tables.ratio!.map((r) => r[3])).toEqual(report.outputInputRatio.map((o) => o.ratio.toFixed(3)));
    expect(seen.tables.cache![2]![1]).toBe(`$${report.cache.savedUsd.toFixed(4)}`);
    expect(seen.verdicts).toEqual([report.provisioned[0]!.verdict.text]);
    // A readable ARN: the short id, with the full ARN beside it.
    expect(seen.tables[`provisioned:${ARN}`]!.find((r) => r[0] === 'calls served / spilled')![1]).toBe('12 / 5');
    expect(seen.hints.length).toBe(report.hints.length);
    for (const h of report.hints.filter((x) => x.savingsUsd !== undefined)) expect(seen.hints.find((t) => t.startsWith(h.detail))).toMatch(/\(would save \$[\d.,]+\)$/);
  }, 120_000);
});

describe('npx bedrock-finops export --format focus', () => {
  it('writes FOCUS CSV whose BilledCost adds up to the ledger’s cost plus the commitment’s hours', () => {
    const out = join(dir, 'focus.csv');
    cli('export', ledger, '--format', 'focus', '--out', out);
    const [header, ...lines] = readFileSync(out, 'utf8').trimEnd().split('\r\n');
    const cols = header!.split(',');
    const at = (line: string, c: string) => line.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/)[cols.indexOf(c)]!;
    const nano = (rows: string[]) => rows.reduce((s, l) => s + BigInt(at(l, 'BilledCost').replace('.', '')), 0n);
    const usage = lines.filter((l) => at(l, 'x_ChargeSource') === 'usage');
    const commitment = lines.filter((l) => at(l, 'x_ChargeSource') === 'provisioned-commitment');
    expect(nano(usage)).toBe(BigInt(nanoSum(records.map((r) => r.costUsd))));
    expect(commitment).toHaveLength(49);
    expect(nano(commitment)).toBe(49n * 21_000_000_000n);
    expect(usage.reduce((s, l) => s + Number(at(l, 'x_Calls')), 0)).toBe(107);
  });

  it('writes the same rows as Parquet', async () => {
    const out = join(dir, 'focus.parquet');
    cli('export', ledger, '--format', 'focus', '--out', out);
    const rows = (await parquetReadObjects({ file: await asyncBufferFromFile(out) })) as Record<string, unknown>[];
    const csv = readFileSync(join(dir, 'focus.csv'), 'utf8').trimEnd().split('\r\n');
    expect(rows).toHaveLength(csv.length - 1);
    expect(Object.keys(rows[0]!)).toEqual(csv[0]!.split(','));
    const billed = rows.reduce((s, r) => s + (r.BilledCost as number), 0);
    expect(billed).toBeCloseTo(nanoSum(records.map((r) => r.costUsd)) / 1e9 + 49 * 21, 6);
    expect(rows[0]).toMatchObject({ ServiceName: 'Amazon Bedrock', ChargeCategory: 'Usage' });
  });
});
