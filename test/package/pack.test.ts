import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The temporary project lives inside the repository so that the peer dependencies
// (@aws-sdk/client-bedrock-runtime, @opentelemetry/api) resolve from its node_modules.
const root = resolve(import.meta.dirname, '../..');
let project = '';

const script = (importLine: string) => `${importLine}
const { BedrockRuntimeClient, ConverseCommand } = await import('@aws-sdk/client-bedrock-runtime');
const { NodeHttpHandler } = await import('@smithy/node-http-handler');
const sim = await startBedrockSimulator();
const records = [];
const client = new BedrockRuntimeClient({ endpoint: sim.url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, requestHandler: new NodeHttpHandler() });
client.middlewareStack.use(bedrockFinOps({ attribution: { team: 'pack' }, onUsage: (r) => records.push(r) }));
await client.send(new ConverseCommand({ modelId: 'amazon.nova-lite-v1:0', messages: [{ role: 'user', content: [{ text: 'hello world' }] }] }));
await sim.close();
console.log(JSON.stringify({ n: records.length, team: records[0].attribution.team, input: records[0].inputTokens, output: records[0].outputTokens }));
`;

function run(file: string, args: string[] = []): string {
  return execFileSync(process.execPath, [...args, file], {
    cwd: project,
    encoding: 'utf8',
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  }).trim();
}

describe('the published package', () => {
  beforeAll(() => {
    mkdirSync(join(root, '.tmp'), { recursive: true });
    project = mkdtempSync(join(root, '.tmp', 'pack-'));
    execFileSync('npm', ['pack', '--silent', '--pack-destination', project], { cwd: root, stdio: 'pipe' });
    const tarball = readdirSync(project).find((f) => f.endsWith('.tgz'));
    if (tarball === undefined) throw new Error('npm pack produced no tarball');
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'pack-consumer', private: true }));
    execFileSync('npm', ['install', `./${tarball}`, '--no-audit', '--no-fund', '--legacy-peer-deps', '--prefer-offline', '--ignore-scripts', '--no-package-lock'], {
      cwd: project,
      stdio: 'pipe',
    });
  }, 180_000);

  afterAll(() => {
    if (project !== '') rmSync(project, { recursive: true, force: true });
  });

  it('ships only the built library, its types and the README', () => {
    const files = execFileSync('tar', ['-tzf', join(project, readdirSync(project).find((f) => f.endsWith('.tgz'))!)], { encoding: 'utf8' }).split('\n');
    expect(files).toContain('package/dist/index.js');
    expect(files).toContain('package/dist/index.d.ts');
    expect(files).toContain('package/dist/testing/index.js');
    expect(files).toContain('package/README.md');
    expect(files.filter((f) => f.startsWith('package/src/') || f.startsWith('package/test/'))).toEqual([]);
  });

  it('runs a metered call when loaded with import', () => {
    writeFileSync(
      join(project, 'esm.mjs'),
      script(`import { bedrockFinOps } from 'bedrock-finops';\nimport { startBedrockSimulator } from 'bedrock-finops/testing';`),
    );
    expect(JSON.parse(run('esm.mjs'))).toEqual({ n: 1, team: 'pack', input: 6, output: 64 });
  });

  it('runs a metered call when loaded with require', () => {
    writeFileSync(
      join(project, 'cjs.cjs'),
      `(async () => {\n${script(`const { bedrockFinOps } = require('bedrock-finops');\nconst { startBedrockSimulator } = require('bedrock-finops/testing');`)}\n})();`,
    );
    expect(JSON.parse(run('cjs.cjs'))).toEqual({ n: 1, team: 'pack', input: 6, output: 64 });
  });

  it('ships the report command as a bin', () => {
    const ledger = join(project, 'ledger.jsonl');
    writeFileSync(ledger, `${JSON.stringify({ operation: 'Converse', requestedModelId: 'm.x', modelId: 'm.x', modelKind: 'foundation-model', attribution: { team: 'pack' }, inputTokens: 1, outputTokens: 2, cacheReadInputTokens: 0, cacheWriteInputTokens: 0, cacheWrite1hInputTokens: 0, usageSource: 'usage', costUsd: 0.5, durationMs: 1, startedAt: '2026-11-26T00:00:00.000Z', outcome: 'success' })}\n`);
    const out = execFileSync(join(project, 'node_modules/.bin/bedrock-finops'), ['report', ledger, '--json'], { cwd: project, encoding: 'utf8' });
    expect(JSON.parse(out)).toMatchObject({ totals: { calls: 1, costUsd: 0.5 } });
  });

  const SUBPATHS = {
    'bedrock-finops': ['bedrockFinOps', 'withAttribution', 'attribute', 'BudgetExceededError', 'isBudgetExceededError', 'FINOPS_MIDDLEWARE', 'reshapeMiddlewareStack'],
    'bedrock-finops/budgets': ['MemoryBudgetStore', 'heuristicInputTokens'],
    'bedrock-finops/redis': ['RedisBudgetStore'],
    'bedrock-finops/quotas': ['RedisQuotaStore', 'MemoryQuotaStore', 'outputBurndown'],
    'bedrock-finops/ledger': ['jsonlLedger', 'sqliteLedger', 'readLedger'],
    'bedrock-finops/report': ['analyze', 'renderText', 'renderHtml'],
    'bedrock-finops/pricing': ['priceCatalogInfo', 'resolveApplicationInferenceProfiles', 'DEFAULT_SERVICE_TIER_MULTIPLIERS'],
    'bedrock-finops/models': ['parseModelId'],
    'bedrock-finops/testing': ['startBedrockSimulator', 'encodeEventStream'],
  } as const;

  it('loads every subpath export with import and with require', () => {
    const check = (load: string) =>
      Object.entries(SUBPATHS)
        .map(([spec, names]) => `{ const m = ${load.replace('SPEC', spec)}; for (const n of ${JSON.stringify(names)}) if (m[n] === undefined) throw new Error('${spec} lacks ' + n); }`)
        .join('\n');
    writeFileSync(join(project, 'subpaths.mjs'), `${check('await import("SPEC")')}\nconsole.log('ok');`);
    writeFileSync(join(project, 'subpaths.cjs'), `${check('require("SPEC")')}\nconsole.log('ok');`);
    expect(run('subpaths.mjs')).toBe('ok');
    expect(run('subpaths.cjs')).toBe('ok');
  });

  it('keeps the root entry small: at most 36 exported names', () => {
    const dts = execFileSync('cat', [join(project, 'node_modules/bedrock-finops/dist/index.d.ts')], { encoding: 'utf8' });
    const names = [...dts.matchAll(/export (?:type )?\{([^}]*)\}/g)].flatMap((m) => m[1]!.split(',').map((n) => n.trim()).filter((n) => n.length > 0));
    expect(names.length).toBeGreaterThan(10);
    expect(names.length).toBeLessThanOrEqual(36);
  });

  it.each([
    ['ESM', 'types.mts', 'import { X } from "SPEC";'],
    ['CommonJS', 'types.cts', 'import { X } from "SPEC";'],
  ])('type-checks every subpath against the shipped declarations (%s, moduleResolution nodenext)', (_, file, line) => {
    const imports = Object.entries(SUBPATHS)
      .map(([spec, names], i) => line.replace('SPEC', spec).replace('X', names.map((n) => `${n} as v${i}_${n}`).join(', ')))
      .join('\n');
    const uses = Object.entries(SUBPATHS)
      .map(([, names], i) => names.map((n) => `void v${i}_${n};`).join(' '))
      .join('\n');
    writeFileSync(
      join(project, file),
      `${imports}
import type { UsageRecord, BedrockFinOpsOptions } from 'bedrock-finops';
const options: BedrockFinOpsOptions = { onUsage: (r: UsageRecord) => { const n: number = r.inputTokens; void n; } };
void options;
${uses}
`,
    );
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--skipLibCheck', file], {
      cwd: project,
      stdio: 'pipe',
    });
  });
});
