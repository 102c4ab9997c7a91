/**
 * Vitest global setup: makes sure the real servers and browser the e2e and Redis tests use are
 * installed (Debian packages `prometheus`, `redis-server`, `chromium`), installing them with apt-get when the
 * tests run as root on a fresh machine. The tests start and stop the servers themselves.
 */
import { execFileSync, spawnSync } from 'node:child_process';

const PACKAGES: readonly (readonly [binary: string, pkg: string])[] = [
  ['prometheus', 'prometheus'],
  ['redis-server', 'redis-server'],
  ['chromium', 'chromium'],
];

function has(binary: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0;
}

export default function setup(): void {
  const missing = PACKAGES.filter(([binary]) => !has(binary));
  if (missing.length === 0) return;
  const names = missing.map(([, pkg]) => pkg);
  if (process.getuid?.() !== 0) {
    throw new Error(`The e2e tests need ${names.join(', ')}: install with \`sudo apt-get install -y ${names.join(' ')}\``);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...names], { stdio: 'inherit', env });
}
