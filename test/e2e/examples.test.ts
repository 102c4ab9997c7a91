import { execFileSync, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');

/** Runs an example; its output never shows a float's binary noise (`0.000009100000000000001`). */
function runExample(name: string, env: Record<string, string> = {}): string {
  const out = execFileSync(tsx, [join(root, 'examples', name)], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
  expect(out).not.toMatch(/\d\.\d*(0{6,}|9{6,})\d/);
  return out;
}

describe('examples run against the simulator', () => {
  it('quickstart prints one attributed record', () => {
    const lines = runExample('quickstart.ts').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({ attribution: { team: 'search', feature: 'autocomplete' }, model: 'us.amazon.nova-micro-v1:0', input: 4, output: 64, cost: '$0.000009' });
  });

  it('otlp exports the GenAI and FinOps metrics to a receiver', () => {
    const out = runExample('otlp.ts');
    for (const name of ['bedrock_finops.calls', 'bedrock_finops.tokens', 'gen_ai.client.operation.duration', 'gen_ai.client.token.usage']) expect(out).toContain(name);
  });

  it('prometheus runs its workload and reports per-team totals', async () => {
    const { freePort } = await import('../helpers/processes.js');
    const out = runExample('prometheus.ts', { PROMETHEUS_PORT: String(await freePort()), CALLS: '6' });
    const { totals } = JSON.parse(out.trim()) as { totals: Record<string, { input: number; output: number }> };
    expect(Object.keys(totals).sort()).toEqual(['ads', 'search', 'support']);
    expect(Object.values(totals).every((t) => t.output === 128)).toBe(true);
  });
});

describe('the Redis example', () => {
  it('shares one budget between two hosts through a real redis-server', async () => {
    const { startRedis } = await import('../helpers/redis-server.js');
    const redis = await startRedis();
    try {
      const out = runExample('redis-budgets.ts', { REDIS_URL: redis.url });
      const summary = JSON.parse(out.trim().split('\n').pop()!) as { admitted: number; rejected: number; used: number; limit: number };
      expect(summary.admitted + summary.rejected).toBe(40);
      expect(summary.rejected).toBeGreaterThan(0);
      expect(summary.used).toBeLessThanOrEqual(summary.limit);
      expect(out).toContain('crossed 50%');
    } finally {
      await redis.stop();
    }
  }, 60_000);

  it('says in one line that Redis is unreachable and exits 1, without a flood of ioredis errors', async () => {
    const { freePort } = await import('../helpers/processes.js');
    const url = `redis://127.0.0.1:${await freePort()}`; // nothing listens there
    const result = spawnSync(tsx, [join(root, 'examples', 'redis-budgets.ts')], { cwd: root, encoding: 'utf8', timeout: 30_000, env: { ...process.env, REDIS_URL: url } });
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n').filter((l) => !l.includes('NodeVersionSupportWarning'))).toEqual([
      `Cannot reach Redis at ${url} (connect ECONNREFUSED ${url.slice('redis://'.length)}): start one with \`redis-server --port 6379\` or set REDIS_URL.`,
    ]);
    expect(result.stdout).toBe('');
  }, 60_000);
});

describe('more examples', () => {
  it('http-attribution attributes each request to its tenant through an Express middleware', () => {
    const lines = runExample('http-attribution.ts').trim().split('\n').map((l) => JSON.parse(l) as { attribution: Record<string, string> });
    expect(lines.map((l) => l.attribution)).toEqual([
      { team: 'support', tenant: 'acme', feature: 'summarize' },
      { team: 'support', tenant: 'globex', feature: 'summarize' },
      { team: 'support', tenant: 'acme', feature: 'summarize' },
    ]);
  });

  it('fallback spills to on-demand once the provisioned model saturates', () => {
    const out = runExample('fallback.ts');
    const records = out.trim().split('\n').slice(0, -1).map((l) => JSON.parse(l) as { servedBy: string; fallback: string | null; cost: string });
    expect(records[0]).toMatchObject({ servedBy: 'provisioned', cost: '$0.000000' });
    expect(records.every((r) => /^\$\d+\.\d{6}$/.test(r.cost))).toBe(true);
    expect(records.some((r) => r.fallback === 'ThrottlingException')).toBe(true);
    expect(records.at(-1)).toMatchObject({ servedBy: 'us.anthropic.claude-3-haiku-20240307-v1:0', fallback: 'breaker-open' });
    expect(out).toMatch(/provisioned \d+ requests \(1 throttled\)/);
  });
});

describe('npm run demo', () => {
  it('runs the multi-team workload to a final report: costs, a budget that trips, a model that spills', async () => {
    const { freePort } = await import('../helpers/processes.js');
    const out = execFileSync('npm', ['run', 'demo', '--silent'], { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, DEMO_PROMETHEUS_PORT: String(await freePort()) } });
    expect(out).toContain('Report: ');
    for (const team of ['search', 'support', 'ads']) expect(out).toContain(team);
    expect(out).toMatch(/\d+ rejected before sending/);
    expect(out).not.toContain(' 0 rejected before sending');
    expect(out).toMatch(/\d+ spilled to on-demand \(ThrottlingException/);
    expect(out).toContain('exceeded ads-daily-usd');
    expect(out).toMatch(/Ledger: \d+ records in /);
  }, 150_000);
});
