import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../src/index.js';

const root = resolve(import.meta.dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
let dir = '';

/** A generated ledger: 3 teams × 2 features over 3 days, known costs. */
function write(path: string): { total: number } {
  let total = 0;
  const lines: string[] = [];
  const base = Date.UTC(2026, 10, 20);
  for (let day = 0; day < 3; day++)
    for (const [t, team] of ['search', 'support', 'ads'].entries())
      for (const [f, feature] of ['chat', 'summarize'].entries())
        for (let i = 0; i < 5; i++) {
          const costUsd = (t + 1) * 0.001 + f * 0.0005;
          total += costUsd;
          const r: UsageRecord = {
            operation: 'Converse', requestedModelId: 'us.amazon.nova-lite-v1:0', modelId: 'us.amazon.nova-lite-v1:0', modelKind: 'inference-profile', baseModelId: 'amazon.nova-lite-v1:0',
            attribution: { team, feature }, inputTokens: 100 * (i + 1), outputTokens: 20, cacheReadInputTokens: 0, cacheWriteInputTokens: 0, cacheWrite1hInputTokens: 0, speechInputTokens: 0, speechOutputTokens: 0,
            serviceTier: undefined, performanceLatency: undefined, usageSource: 'usage', costUsd, onDemandEquivalentUsd: undefined, durationMs: 10, timeToFirstChunkMs: undefined,
            startedAt: base + day * 86_400_000 + i * 60_000, fallback: undefined, outcome: 'success', error: undefined, requestId: undefined,
          };
          lines.push(JSON.stringify({ ...r, startedAt: new Date(r.startedAt).toISOString() }));
        }
  writeFileSync(path, `${lines.join('\n')}\nnot json\n`);
  return { total };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-report-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npx bedrock-finops report', () => {
  it('prints the report as JSON with the known totals, skipping unreadable lines', () => {
    const path = join(dir, 'ledger.jsonl');
    const { total } = write(path);
    const out = execFileSync(tsx, [join(root, 'src/cli.ts'), 'report', path, '--json', '--by', 'team,day'], { encoding: 'utf8' });
    const report = JSON.parse(out) as { totals: { calls: number; costUsd: number }; breakdowns: { dimension: string; rows: { key: string; calls: number }[] }[] };
    expect(report.totals.calls).toBe(90);
    expect(report.totals.costUsd).toBeCloseTo(total, 12);
    expect(report.breakdowns.map((b) => b.dimension)).toEqual(['team', 'day']);
    expect(report.breakdowns[1]!.rows.map((r) => [r.key, r.calls]).sort()).toEqual([
      ['2026-11-20', 30],
      ['2026-11-21', 30],
      ['2026-11-22', 30],
    ]);
  });

  it('writes an HTML page whose charts render in headless Chromium', () => {
    const path = join(dir, 'ledger2.jsonl');
    write(path);
    const html = join(dir, 'report.html');
    execFileSync(tsx, [join(root, 'src/cli.ts'), 'report', path, '--html', html], { encoding: 'utf8' });
    expect(readFileSync(html, 'utf8')).toContain('<script id="report-data"');
    const dom = execFileSync(
      'chromium',
      ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${join(dir, 'chrome')}`, '--dump-dom', `file://${html}`],
      { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    expect(dom).toContain('data-rendered="true"');
    // Cost over time: 3 days × 3 teams stacked segments; percentiles: 2 features × P50/P95/P99.
    expect(dom.match(/<rect[^>]*data-team=/g)).toHaveLength(9);
    expect(dom.match(/<rect[^>]*data-percentile=/g)).toHaveLength(6);
  }, 90_000);
});
