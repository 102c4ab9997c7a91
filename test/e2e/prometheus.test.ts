import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startProcess, waitFor } from '../helpers/processes.js';

const root = resolve(import.meta.dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');

interface Totals {
  metrics: string;
  totals: Record<string, { input: number; output: number }>;
}

async function promQuery(base: string, query: string): Promise<Record<string, number>> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  if (body.status !== 'success') throw new Error(`query failed: ${JSON.stringify(body)}`);
  return Object.fromEntries(body.data.result.map((r) => [r.metric.team ?? '', Number(r.value[1])]));
}

describe('Prometheus end to end', () => {
  let dir = '';
  let app: ReturnType<typeof startProcess> | undefined;
  let prom: ReturnType<typeof startProcess> | undefined;
  let promUrl = '';
  let totals: Totals | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-prom-'));
    const appPort = await freePort();
    const promPort = await freePort();
    app = startProcess(tsx, [join(root, 'examples/prometheus.ts')], { PROMETHEUS_PORT: String(appPort), SERVE: '1', CALLS: '30' });
    totals = await waitFor('the example app', async () => {
      const line = app?.output().split('\n').find((l) => l.startsWith('{"metrics"'));
      return line === undefined ? undefined : (JSON.parse(line) as Totals);
    }, 60_000);
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['127.0.0.1:${appPort}']\n`,
    );
    prom = startProcess('prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ]);
    promUrl = `http://127.0.0.1:${promPort}`;
    await waitFor('prometheus to be ready', async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined), 60_000);
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
    await prom?.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('scrapes the exact token totals per team that the calls produced', async () => {
    const expectedInput = Object.fromEntries(Object.entries(totals!.totals).map(([team, t]) => [team, t.input]));
    const expectedOutput = Object.fromEntries(Object.entries(totals!.totals).map(([team, t]) => [team, t.output]));
    expect(Object.keys(expectedInput).sort()).toEqual(['ads', 'search', 'support']);
    const input = await waitFor(
      'prometheus to scrape the input totals',
      async () => {
        const got = await promQuery(promUrl, 'sum by (team) (bedrock_finops_tokens_total{bedrock_finops_token_type="input"})');
        return Object.keys(got).length === 3 ? got : undefined;
      },
      60_000,
      500,
    );
    expect(input).toEqual(expectedInput);
    expect(await promQuery(promUrl, 'sum by (team) (bedrock_finops_tokens_total{bedrock_finops_token_type="output"})')).toEqual(expectedOutput);
    const calls = await promQuery(promUrl, 'sum by (team) (bedrock_finops_calls_total)');
    expect(calls).toEqual({ search: 10, support: 10, ads: 10 });
    const histogramCount = await promQuery(promUrl, 'sum by (team) (gen_ai_client_operation_duration_count)');
    expect(histogramCount).toEqual({ search: 10, support: 10, ads: 10 });
  }, 90_000);
});
