import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
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
  const demo = (args: readonly string[], env: Record<string, string>) =>
    spawnSync('npm', ['run', 'demo', '--silent', '--', ...args], { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });

  it('runs the multi-team workload to a final report: a budget that trips, a model that spills, non-trivial analytics, an HTML report', async () => {
    const { freePort } = await import('../helpers/processes.js');
    const port = await freePort();
    const { status, stdout: out } = demo([], { DEMO_PROMETHEUS_PORT: String(port) });
    expect(status).toBe(0);
    expect(out).toContain(`Prometheus metrics while it runs: http://127.0.0.1:${port}/metrics`);
    for (const team of ['search', 'support', 'ads']) expect(out).toContain(team);
    expect(out).toMatch(/Run: \d+ metered calls in [\d.]+ s, [1-9]\d* rejected before sending, 0 failed/);
    expect(out).toMatch(/\d+ spilled to on-demand \(ThrottlingException/);
    expect(out).toContain('exceeded ads-daily-usd');
    // A quota at work: the governor paces Sonnet 4.5 against the quota the simulator enforces; a burst shows it with and without.
    expect(out).toMatch(/answers 429 beyond it: 0 of its calls throttled\)/);
    expect(out).toMatch(/without the governor: \d+ served, [1-9]\d* throttled/);
    expect(out).toMatch(/with the governor \(onLimit 'wait'\): 40 served, 0 throttled, [1-9]\d* paced/);
    expect(out).toMatch(/answers on \S+ asks for maxTokens 400 but 99% of its calls use at most \d+% of it/);
    expect(out).toMatch(/Ledger: \d+ records in \.bedrock-finops\/demo-ledger\.jsonl/);
    // The analytics mean something: one feature's prompts vary (P50 < P95) and grow over the run.
    const answers = /^answers\s+\S+\s+\d+\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)$/m.exec(out);
    const n = (s: string | undefined) => Number(s?.replaceAll(',', ''));
    expect(n(answers?.[1])).toBeLessThan(n(answers?.[2]));
    expect(out).toMatch(/^answers\s+[\d,]+\s+[\d,]+\s+\+\d+\.\d%\s+← growing$/m);
    expect(out).toMatch(/claude-sonnet-4-5.* answers intent with a median of \d+ output tokens: try .* \(would save \$0\.\d+\)/);
    expect(out).toMatch(/calls of copy are marked non-interactive: .* \(would save \$0\.\d{6}\)/);
    // Every clock time says UTC (ISO times end in Z); money never shows float noise.
    for (const [time] of out.matchAll(/\d{2}:\d{2}(:\d{2}(\.\d+)?)?\S*( UTC)?/g)) expect(time).toMatch(/Z$| UTC$/);
    expect(out).not.toMatch(/\d\.\d*(0{6,}|9{6,})\d/);
    const html = /^HTML report: (.+)$/m.exec(out)?.[1] ?? '';
    expect(readFileSync(html, 'utf8')).toContain('<html');
  }, 150_000);

  it('prints no Prometheus URL when its port is taken, and says so', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const { status, stdout } = demo([], { DEMO_PROMETHEUS_PORT: String(port), DEMO_LEDGER: join(mkdtempSync(join(tmpdir(), 'demo-')), 'ledger.jsonl') });
      expect(status).toBe(0);
      expect(stdout).toContain(`Prometheus metrics not served: port ${port} is taken`);
      expect(stdout).not.toContain('/metrics');
    } finally {
      taken.close();
    }
  }, 150_000);

  it('--live without AWS credentials or region exits 1 at once, naming both, and leaves the simulator run\'s ledger alone', () => {
    const ledger = join(root, '.bedrock-finops/demo-ledger.jsonl');
    const before = existsSync(ledger) ? readFileSync(ledger, 'utf8') : undefined;
    const home = mkdtempSync(join(tmpdir(), 'no-aws-'));
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_') && v !== undefined) env[k] = v;
    // No credentials anywhere the default chain looks; instance metadata off (it is not on loopback).
    const noAws = { ...env, HOME: home, AWS_CONFIG_FILE: join(home, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'), AWS_EC2_METADATA_DISABLED: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    const result = spawnSync(tsx, [join(root, 'demo/main.ts'), '--live'], { cwd: root, encoding: 'utf8', timeout: 60_000, env: noAws });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('an AWS region (Error: Region is missing)');
    expect(result.stderr).toContain('AWS credentials (CredentialsProviderError');
    expect(result.stderr).toContain('Nothing was sent to Bedrock.');
    expect(result.stdout).toBe('');
    expect(existsSync(ledger) ? readFileSync(ledger, 'utf8') : undefined).toBe(before);

    const withRegion = spawnSync(tsx, [join(root, 'demo/main.ts'), '--live'], { cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...noAws, AWS_REGION: 'us-east-1' } });
    expect(withRegion.status).toBe(1);
    expect(withRegion.stderr).not.toContain('AWS region');
    expect(withRegion.stderr).toContain('AWS credentials (CredentialsProviderError');
  }, 120_000);
});
