#!/usr/bin/env node
// Provisions what the slower test layers start or drive: Debian's redis-server, prometheus,
// chromium and valgrind. Run by `npm test` (before vitest) and by `.ci/run`; the fast layer
// (`npm run test:fast`: unit + integration) needs none of them. Installs with apt-get when run as
// root on a fresh machine; otherwise says what to install and exits non-zero.
import { execFileSync, spawnSync } from 'node:child_process';

const PACKAGES = [
  ['prometheus', 'prometheus'],
  ['redis-server', 'redis-server'],
  ['redis-cli', 'redis-tools'],
  ['chromium', 'chromium'],
  // The benchmark's instruction counts (its smoke run is a test).
  ['valgrind', 'valgrind'],
];

const has = (binary) => spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0;
const missing = [...new Set(PACKAGES.filter(([binary]) => !has(binary)).map(([, pkg]) => pkg))];
if (missing.length === 0) process.exit(0);
if (process.getuid?.() !== 0) {
  console.error(`The e2e, Redis and browser tests need ${missing.join(', ')}: install them with \`sudo apt-get install -y ${missing.join(' ')}\` (or run \`npm run test:fast\` for the unit and integration layers).`);
  process.exit(1);
}
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
console.log(`provisioning ${missing.join(', ')} with apt-get`);
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
